"""Bad cases: the validation images a model got most wrong, for people to look at.

A report's numbers say how often a model errs; the images say why (a mislabelled
picture, a class that only differs by background, boxes too small to see). The report
keeps a bounded list (``LIMIT``) so that it stays small whatever the validation size,
chosen from the predictions the validation pass already made (no extra pass):

- classification: the misclassified images, most confident first (a confident mistake
  is more telling, and more often a labelling error, than a near tie);
- detection: the images with the most errors at the report's score threshold and IoU
  0.5: ground-truth boxes no prediction found ("missed") plus predictions that match no
  ground truth of their class ("false").

Images are named by their sha256, the id the data center serves their bytes under.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from autolearn.evaluation.detection_curves import box_iou

LIMIT = 50


def classification_bad_cases(
    logits: torch.Tensor,
    targets: torch.Tensor,
    classes: Sequence[str],
    sha256s: Sequence[str],
    limit: int = LIMIT,
) -> list[dict[str, Any]]:
    """The misclassified images (row ``i`` of ``logits`` is image ``sha256s[i]``), most
    confident mistake first, at most ``limit``."""
    if len(logits) == 0:
        return []
    probs = torch.softmax(logits.float(), dim=1)
    confidence, predicted = probs.max(dim=1)
    wrong = torch.nonzero(predicted != targets.to(predicted.device)).flatten()
    if wrong.numel() == 0:
        return []
    order = wrong[torch.argsort(-confidence[wrong], stable=True)][:limit]
    return [
        {
            "sha256": sha256s[i] if i < len(sha256s) else "",
            "true": classes[int(targets[i])],
            "predicted": classes[int(predicted[i])],
            "confidence": round(float(confidence[i]), 6),
            "true_score": round(float(probs[i, int(targets[i])]), 6),
        }
        for i in order.tolist()
    ]


def image_errors(
    pred: Mapping[str, Any],
    target: Mapping[str, Any],
    score_threshold: float,
    iou_threshold: float = 0.5,
) -> tuple[list[int], list[int]]:
    """(missed ground-truth indices, false prediction indices) of one image: predictions
    with ``score >= score_threshold`` take, by descending score, the still-unmatched
    ground truth of their class with the highest IoU ≥ ``iou_threshold`` (COCO's rule)."""
    boxes = np.asarray(pred["boxes"], dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(pred["scores"], dtype=np.float64).reshape(-1)
    labels = np.asarray(pred["labels"], dtype=np.int64).reshape(-1)
    gt_boxes = np.asarray(target["boxes"], dtype=np.float64).reshape(-1, 4)
    gt_labels = np.asarray(target["labels"], dtype=np.int64).reshape(-1)
    kept = np.flatnonzero(scores >= score_threshold)
    kept = kept[np.argsort(-scores[kept], kind="mergesort")]
    ious = box_iou(boxes[kept], gt_boxes)
    taken = np.zeros(len(gt_boxes), dtype=bool)
    false: list[int] = []
    for row, i in enumerate(kept.tolist()):
        ok = ~taken & (gt_labels == labels[i]) & (ious[row] >= iou_threshold)
        if ok.any():
            taken[int(np.argmax(np.where(ok, ious[row], -1.0)))] = True
        else:
            false.append(i)
    return np.flatnonzero(~taken).tolist(), sorted(false)


class WorstImages:
    """The ``limit`` detection images with the most errors in one validation pass.

    Fed the same per-image predictions and targets as the metrics (box coordinates as
    the model saw the image); keeps only the boxes of the worst images, so memory and
    work stay bounded by the pass itself. Targets carry ``image_id``, the index of the
    image in the validation samples (what ``DetectionDataset`` sets)."""

    def __init__(self, score_threshold: float = 0.5, limit: int = LIMIT) -> None:
        self.score_threshold, self.limit = score_threshold, limit
        self.reset()

    def reset(self) -> None:
        self._heap: list[tuple[int, int, dict[str, Any]]] = []
        self._seen = 0

    def update(
        self, preds: Sequence[Mapping[str, Any]], targets: Sequence[Mapping[str, Any]]
    ) -> None:
        for pred, target in zip(preds, targets, strict=True):
            index = int(target["image_id"]) if "image_id" in target else self._seen
            self._seen += 1
            missed, false = image_errors(pred, target, self.score_threshold)
            errors = len(missed) + len(false)
            if errors == 0:
                continue
            key = (errors, -index)  # most errors first, then the earlier image
            if len(self._heap) >= self.limit and key <= self._heap[0][:2]:
                continue
            case = {
                "index": index,
                "errors": errors,
                "missed": [_box(target, j) for j in missed],
                "false": [_box(pred, j, score=True) for j in false],
            }
            item = (errors, -index, case)
            if len(self._heap) < self.limit:
                heapq.heappush(self._heap, item)
            else:
                heapq.heapreplace(self._heap, item)

    def cases(self) -> list[dict[str, Any]]:
        """The kept images, worst first (boxes in the model's input coordinates)."""
        return [case for *_, case in sorted(self._heap, key=lambda x: x[:2], reverse=True)]


def _box(item: Mapping[str, Any], j: int, score: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "label": int(item["labels"][j]),
        "box": [float(v) for v in item["boxes"][j]],
    }
    if score:
        out["score"] = round(float(item["scores"][j]), 6)
    return out


def detection_bad_cases(
    cases: Sequence[Mapping[str, Any]],
    classes: Sequence[str],
    sha256_of: Callable[[int], str],
    scale_of: Callable[[int], tuple[float, float]],
) -> list[dict[str, Any]]:
    """:meth:`WorstImages.cases` as the report stores them: class names, the image's
    sha256, and boxes in the image's own pixels (``scale_of(index)`` is the x and y factor
    the evaluation transform resized the image by)."""
    out = []
    for case in cases:
        index = int(case["index"])
        fx, fy = scale_of(index)

        def back(b: Mapping[str, Any], fx: float = fx, fy: float = fy) -> dict[str, Any]:
            x1, y1, x2, y2 = b["box"]
            row = {
                "label": classes[b["label"]],
                "box": [round(x1 / fx, 2), round(y1 / fy, 2), round(x2 / fx, 2), round(y2 / fy, 2)],
            }
            return {**row, "score": b["score"]} if "score" in b else row

        out.append(
            {
                "sha256": sha256_of(index),
                "errors": case["errors"],
                "missed": [back(b) for b in case["missed"]],
                "false": [back(b) for b in case["false"]],
            }
        )
    return out
