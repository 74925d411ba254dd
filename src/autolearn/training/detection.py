"""Detection's part of the shared loop: torchvision detectors return their losses in
train mode and boxes in eval mode; labels are converted at the model boundary so the
rest of the platform only sees dataset classes 0..K-1."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from autolearn.evaluation.bad_cases import WorstImages
from autolearn.evaluation.detection import DetectionMetrics
from autolearn.models.detection import from_model_predictions, to_model_targets


class DetectionOps:
    """ScenarioOps for object detection; the monitored metric is ``primary`` (map_50)."""

    eval_loss = False  # detectors return boxes, not losses, in eval mode

    def __init__(
        self,
        num_classes: int,
        class_names: list[str] | None = None,
        primary: str = "map_50",
        score_threshold: float = 0.5,
    ) -> None:
        self.metrics = DetectionMetrics(
            num_classes, class_names, primary=primary, score_threshold=score_threshold
        )
        self.primary = primary
        self.worst = WorstImages(score_threshold)  # the report's bad cases

    @staticmethod
    def _to(
        targets: list[dict[str, torch.Tensor]], device: torch.device
    ) -> list[dict[str, torch.Tensor]]:
        return [{k: v.to(device, non_blocking=True) for k, v in t.items()} for t in targets]

    def loss(self, model: nn.Module, batch: Any, device: torch.device) -> tuple[torch.Tensor, int]:
        images, targets = batch
        images = images.to(device, non_blocking=True, memory_format=torch.channels_last)
        losses = model(list(images), to_model_targets(model, self._to(targets, device)))
        total: torch.Tensor = torch.stack(list(losses.values())).sum()
        return total, int(images.shape[0])

    def eval_step(self, model: nn.Module, batch: Any, device: torch.device) -> tuple[float, int]:
        images, targets = batch
        images = images.to(device, non_blocking=True, memory_format=torch.channels_last)
        outputs = from_model_predictions(model, model(list(images)))
        cpu = [
            {
                k: v.detach().float().cpu() if v.is_floating_point() else v.cpu()
                for k, v in o.items()
            }
            for o in outputs
        ]
        self.metrics.update(cpu, targets)
        self.worst.update(cpu, targets)
        return 0.0, int(images.shape[0])  # detectors give no loss in eval mode

    def metric_reset(self) -> None:
        self.metrics.reset()
        self.worst.reset()

    def metric_compute(self) -> dict[str, float]:
        return self.metrics.compute()
