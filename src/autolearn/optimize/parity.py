"""The accuracy gate: the optimised model and the original are evaluated on the task's
validation split with the same code, and the optimised one is refused when its metric
drops by more than the tolerance (percentage points). Users of other platforms find out
after deployment that an INT8 export lost most of its accuracy; here it never ships.

Both sides run through a runtime's ``logits`` / ``raw_detections`` (``BasePredictor``), on
inputs prepared by the training evaluation transforms, so only the engine differs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from autolearn.serving.predictor import BasePredictor

EVAL_BATCH = 16


@dataclass
class Verdict:
    metric: str
    before: float
    after: float
    tolerance_points: float

    @property
    def drop_points(self) -> float:
        return (self.before - self.after) * 100.0

    @property
    def accepted(self) -> bool:
        return self.drop_points <= self.tolerance_points + 1e-9

    def message(self) -> str:
        change = f"{self.metric} {self.before:.4f} → {self.after:.4f}"
        if self.accepted:
            drop = f"drop {self.drop_points:.2f} points ≤ {self.tolerance_points:g}"
            return f"accepted: {change} ({drop})"
        return (
            f"refused: {change}, a drop of {self.drop_points:.2f} points exceeds the tolerance "
            f"of {self.tolerance_points:g}; the original model stays the one to use"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "before": round(self.before, 6),
            "after": round(self.after, 6),
            "drop_points": round(self.drop_points, 4),
            "tolerance_points": self.tolerance_points,
            "accepted": self.accepted,
            "message": self.message(),
        }


def evaluate(runtime: BasePredictor, samples: Sequence[Any], metric: str) -> float:
    """``metric`` of ``runtime`` on validation ``samples`` (classification ``Sample``s or
    ``DetectionSample``s, as the worker builds them). No autograd: a PyTorch model would
    otherwise record a graph for every batch."""
    with torch.inference_mode():
        if runtime.is_detection:
            return _detection_metric(runtime, samples, metric)
        return _accuracy(runtime, samples)


def _accuracy(runtime: BasePredictor, samples: Sequence[Any]) -> float:
    from autolearn.training.data import ImageClassificationDataset

    dataset = ImageClassificationDataset(list(samples), runtime.transform)
    correct = 0
    for start in range(0, len(dataset), EVAL_BATCH):
        items = [dataset[i] for i in range(start, min(len(dataset), start + EVAL_BATCH))]
        batch = torch.stack([x for x, _ in items])
        predicted = runtime.logits(batch).argmax(dim=1)
        correct += int((predicted == torch.tensor([y for _, y in items])).sum())
    return correct / max(1, len(dataset))


def _detection_metric(runtime: BasePredictor, samples: Sequence[Any], metric: str) -> float:
    from autolearn.evaluation.detection import DetectionMetrics
    from autolearn.training.detection_data import DetectionDataset

    dataset = DetectionDataset(list(samples), runtime.transform)
    scores = DetectionMetrics(len(runtime.classes), runtime.classes, primary=metric)
    floor = float(runtime.meta.get("postprocess", {}).get("score_thresh", 0.001))
    for start in range(0, len(dataset), EVAL_BATCH):
        items = [dataset[i] for i in range(start, min(len(dataset), start + EVAL_BATCH))]
        images = [x.as_subclass(torch.Tensor) for x, _ in items]
        scores.update(runtime.raw_detections(images, floor), [t for _, t in items])
    return float(scores.metric())
