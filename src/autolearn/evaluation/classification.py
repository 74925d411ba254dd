"""Classification metrics with torchmetrics: accuracy, macro P/R/F1, confusion matrix."""

from __future__ import annotations

from typing import Any

import torch
from torchmetrics import MetricCollection
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassConfusionMatrix,
    MulticlassF1Score,
    MulticlassPrecision,
    MulticlassRecall,
)


class ClassificationMetrics:
    """Accumulates predictions over an evaluation pass and summarises them."""

    primary = "accuracy"

    def __init__(self, num_classes: int) -> None:
        self.num_classes = num_classes
        self.summary = MetricCollection(
            {
                "accuracy": MulticlassAccuracy(num_classes, average="micro"),
                "precision": MulticlassPrecision(num_classes, average="macro"),
                "recall": MulticlassRecall(num_classes, average="macro"),
                "f1": MulticlassF1Score(num_classes, average="macro"),
            }
        )
        self.per_class = MetricCollection(
            {
                "precision": MulticlassPrecision(num_classes, average=None),
                "recall": MulticlassRecall(num_classes, average=None),
                "f1": MulticlassF1Score(num_classes, average=None),
                "accuracy": MulticlassAccuracy(num_classes, average=None),
            }
        )
        self.confusion = MulticlassConfusionMatrix(num_classes)

    def reset(self) -> None:
        self.summary.reset()
        self.per_class.reset()
        self.confusion.reset()

    def update(self, logits: torch.Tensor, targets: torch.Tensor) -> None:
        preds = logits.float().argmax(dim=1).cpu()
        targets = targets.cpu()
        self.summary.update(preds, targets)
        self.per_class.update(preds, targets)
        self.confusion.update(preds, targets)

    def compute(self) -> dict[str, float]:
        """Scalar metrics (the ones logged every epoch)."""
        return {k: float(v) for k, v in self.summary.compute().items()}

    def report(self, classes: list[str]) -> dict[str, Any]:
        """Per-class table and confusion matrix (rows = true class, columns = predicted)."""
        per_class = {k: v.tolist() for k, v in self.per_class.compute().items()}
        matrix = self.confusion.compute().tolist()
        support = [int(sum(row)) for row in matrix]
        rows = [
            {
                "class": name,
                "support": support[i],
                "accuracy": per_class["accuracy"][i],
                "precision": per_class["precision"][i],
                "recall": per_class["recall"][i],
                "f1": per_class["f1"][i],
            }
            for i, name in enumerate(classes)
        ]
        return {"classes": classes, "confusion_matrix": matrix, "per_class": rows}


def subset_accuracy(logits: torch.Tensor, targets: torch.Tensor, class_ids: list[int]) -> float:
    """Accuracy restricted to samples whose true class is in ``class_ids``, predicting
    only among those classes (how incremental training reports the base classes)."""
    if not class_ids:
        return float("nan")
    keep = torch.isin(targets, torch.tensor(class_ids))
    if not keep.any():
        return float("nan")
    sub = logits[keep][:, class_ids]
    mapped = torch.tensor([class_ids.index(int(t)) for t in targets[keep]])
    return float((sub.argmax(dim=1) == mapped).float().mean())
