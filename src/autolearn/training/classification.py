"""Classification's part of the loop: cross-entropy with label smoothing, torchmetrics."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from autolearn.evaluation.classification import ClassificationMetrics


class ClassificationOps:
    """ScenarioOps for single-label image classification."""

    eval_loss = True  # cross-entropy on the validation batches

    def __init__(
        self,
        num_classes: int,
        label_smoothing: float = 0.1,
        channels_last: bool = True,
        keep_outputs: bool = True,
    ) -> None:
        self.criterion = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
        self.eval_criterion = nn.CrossEntropyLoss(reduction="sum")
        self.metrics = ClassificationMetrics(num_classes)
        self.channels_last = channels_last
        self.keep_outputs = keep_outputs
        self.logits: list[torch.Tensor] = []
        self.targets: list[torch.Tensor] = []

    def _inputs(self, batch: Any, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        images, targets = batch
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        images = images.to(device, non_blocking=True, memory_format=fmt)
        return images, targets.to(device, non_blocking=True)

    def loss(self, model: nn.Module, batch: Any, device: torch.device) -> tuple[torch.Tensor, int]:
        images, targets = self._inputs(batch, device)
        return self.criterion(model(images), targets), int(targets.shape[0])

    def eval_step(self, model: nn.Module, batch: Any, device: torch.device) -> tuple[float, int]:
        images, targets = self._inputs(batch, device)
        logits = model(images).float()
        self.metrics.update(logits, targets)
        if self.keep_outputs:
            self.logits.append(logits.cpu())
            self.targets.append(targets.cpu())
        return float(self.eval_criterion(logits, targets)), int(targets.shape[0])

    def metric_reset(self) -> None:
        self.metrics.reset()
        self.logits, self.targets = [], []

    def metric_compute(self) -> dict[str, float]:
        return self.metrics.compute()

    def outputs(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits and targets of the last evaluation pass."""
        return torch.cat(self.logits), torch.cat(self.targets)
