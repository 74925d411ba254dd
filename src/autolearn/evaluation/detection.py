"""Detection metrics: COCO mAP from torchmetrics (pycocotools backend), plus precision,
recall and F1 at a score threshold, PR curves and per-class F1-optimal score thresholds
at IoU 0.5 (numpy, in ``detection_curves.py``).

Inputs are torchvision-detection style: per image a dict with ``boxes`` (xyxy, pixels),
``labels`` (int64, 0-based class indices) and, for predictions, ``scores``. Crowd flags
and ``area`` in targets are ignored (area = box area, no crowd regions). Boxes must not be
inverted (x2 ≥ x1, y2 ≥ y1; torchvision's detectors guarantee it): pycocotools and the
IoU-0.5 matching here disagree on inverted ones.

Undefined numbers (COCO's -1: nothing to measure, e.g. no ground truth of that class or
size) are 0.0 in :meth:`DetectionMetrics.compute` (a logged scalar must stay a number, and
a stop rule must not fire on it) and ``None`` in :meth:`DetectionMetrics.report`. As in COCO,
classes without ground truth are left out of every class average.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torchmetrics.detection import MeanAveragePrecision

from autolearn.evaluation.detection_curves import (
    RECALL_LEVELS,
    best_f1,
    counts_at,
    match_image,
    pr_curve,
)

COCO_IOU_THRESHOLDS: tuple[float, ...] = tuple(float(t) for t in np.linspace(0.5, 0.95, 10))
MAX_DETECTIONS = 100  # per image (COCO's last maxDets)
MATCH_IOU = 0.5  # IoU of the threshold-dependent numbers, PR curves and best-F1 thresholds
METRIC_NAMES: tuple[str, ...] = (
    "map",
    "map_50",
    "map_75",
    "map_small",
    "map_medium",
    "map_large",
    "mar_1",
    "mar_10",
    "mar_100",
    "precision",
    "recall",
    "f1",
)
_COCO_KEYS = METRIC_NAMES[:9]
_PER_CLASS_COCO_KEYS = ("ap", "ap_50", "ap_75", "ar_100")


@dataclass
class _Result:
    summary: dict[str, float | None]
    per_class: list[dict[str, Any]]  # one row per class index
    pr_curves: list[list[list[float]]]
    best_f1: list[dict[str, float | None]]


class DetectionMetrics:
    """Accumulates detections over an evaluation pass and summarises them.

    ``primary`` names the metric a stop rule monitors ("expected accuracy"): ``map_50``
    by default, or any of :data:`METRIC_NAMES` (e.g. ``map``).
    """

    def __init__(
        self,
        num_classes: int,
        class_names: Sequence[str] | None = None,
        iou_thresholds: Sequence[float] = COCO_IOU_THRESHOLDS,
        score_threshold: float = 0.5,
        primary: str = "map_50",
    ) -> None:
        if num_classes < 1:
            raise ValueError(f"num_classes must be ≥ 1, got {num_classes}")
        names = [str(i) for i in range(num_classes)] if class_names is None else list(class_names)
        if len(names) != num_classes:
            raise ValueError(f"{len(names)} class names for num_classes={num_classes}")
        if primary not in METRIC_NAMES:
            raise ValueError(f"unknown metric {primary!r}; choose one of {', '.join(METRIC_NAMES)}")
        self.num_classes = num_classes
        self.class_names = names
        self.iou_thresholds = [float(t) for t in iou_thresholds]
        self.score_threshold = float(score_threshold)
        self.primary = primary
        self._coco = MeanAveragePrecision(
            box_format="xyxy",
            iou_type="bbox",
            iou_thresholds=self.iou_thresholds,
            # COCO's float64 recall levels: torchmetrics' default is float32, so a recall of
            # exactly 0.6 misses the level 0.6000000238 and AP comes out below COCOeval's.
            rec_thresholds=[float(r) for r in RECALL_LEVELS],
            max_detection_thresholds=[1, 10, MAX_DETECTIONS],
            extended_summary=True,
            backend="pycocotools",
        )
        self.reset()

    @property
    def backend(self) -> str:
        """The COCO evaluation backend torchmetrics runs."""
        return str(self._coco._coco_backend.backend)

    def reset(self) -> None:
        self._coco.reset()
        self._num_images = 0
        self._gt_counts = np.zeros(self.num_classes, dtype=np.int64)
        self._scores: list[np.ndarray] = []
        self._labels: list[np.ndarray] = []
        self._tp: list[np.ndarray] = []
        self._result: _Result | None = None

    def update(
        self, preds: Sequence[Mapping[str, Any]], targets: Sequence[Mapping[str, Any]]
    ) -> None:
        """Add a batch: one prediction dict and one target dict per image."""
        if len(preds) != len(targets):
            raise ValueError(f"{len(preds)} predictions for {len(targets)} targets")
        p_list = [
            {
                "boxes": _tensor(p["boxes"], torch.float32).reshape(-1, 4),
                "scores": _tensor(p["scores"], torch.float32).reshape(-1),
                "labels": self._labels_of(p),
            }
            for p in preds
        ]
        t_list = [
            {
                "boxes": _tensor(t["boxes"], torch.float32).reshape(-1, 4),
                "labels": self._labels_of(t),
            }
            for t in targets
        ]
        self._coco.update(p_list, t_list)
        for p, t in zip(p_list, t_list, strict=True):
            scores, labels, tp = match_image(
                p["boxes"].numpy(),
                p["scores"].numpy().astype(np.float64),
                p["labels"].numpy(),
                t["boxes"].numpy(),
                t["labels"].numpy(),
                iou_threshold=MATCH_IOU,
                max_detections=MAX_DETECTIONS,
            )
            self._scores.append(scores)
            self._labels.append(labels)
            self._tp.append(tp)
            self._gt_counts += np.bincount(t["labels"].numpy(), minlength=self.num_classes)
        self._num_images += len(preds)
        self._result = None

    def compute(self) -> dict[str, float]:
        """Scalar metrics (the ones logged every epoch); undefined ones are 0.0."""
        return {k: (0.0 if v is None else v) for k, v in self._evaluate().summary.items()}

    def metric(self, name: str | None = None) -> float:
        """One scalar of :meth:`compute` (default: ``primary``), e.g. for a stop rule."""
        name = name or self.primary
        if name not in METRIC_NAMES:
            raise ValueError(f"unknown metric {name!r}; choose one of {', '.join(METRIC_NAMES)}")
        return self.compute()[name]

    def report(self, classes: Sequence[str] | None = None) -> dict[str, Any]:
        """Summary, per-class table, PR curves (IoU 0.5, [recall, precision] points) and
        the per-class F1-optimal score thresholds (IoU 0.5) to store with the model."""
        res = self._evaluate()
        names = list(classes) if classes is not None else self.class_names
        if len(names) != self.num_classes:
            raise ValueError(f"{len(names)} class names for num_classes={self.num_classes}")
        return {
            "classes": names,
            "num_images": self._num_images,
            "iou_thresholds": self.iou_thresholds,
            "match_iou": MATCH_IOU,
            "score_threshold": self.score_threshold,
            "primary": self.primary,
            "summary": dict(res.summary),
            "per_class": [{"class": n, **row} for n, row in zip(names, res.per_class, strict=True)],
            "pr_curves": dict(zip(names, res.pr_curves, strict=True)),
            "best_f1_thresholds": dict(zip(names, res.best_f1, strict=True)),
        }

    # -- internals ---------------------------------------------------------------------

    def _labels_of(self, item: Mapping[str, Any]) -> torch.Tensor:
        labels = _tensor(item["labels"], torch.int64).reshape(-1)
        if labels.numel() and (labels.min() < 0 or labels.max() >= self.num_classes):
            raise ValueError(
                f"labels must be class indices in [0, {self.num_classes}), got "
                f"{sorted(set(labels.tolist()))}"
            )
        return labels

    def _evaluate(self) -> _Result:
        if self._result is None:
            self._result = self._evaluate_now()
        return self._result

    def _evaluate_now(self) -> _Result:
        coco = self._coco_numbers()
        scores = np.concatenate([np.zeros(0), *self._scores])
        labels = np.concatenate([np.zeros(0, dtype=np.int64), *self._labels])
        tp = np.concatenate([np.zeros(0, dtype=bool), *self._tp])
        per_class, curves, best = [], [], []
        for k in range(self.num_classes):
            mine = labels == k
            s, t, n_gt = scores[mine], tp[mine], int(self._gt_counts[k])
            c = counts_at(s, t, n_gt, self.score_threshold)
            has_gt = n_gt > 0
            per_class.append(
                {
                    "support": n_gt,
                    "num_predictions": int(mine.sum()),
                    **coco["per_class"].get(k, dict.fromkeys(_PER_CLASS_COCO_KEYS)),
                    "precision": c.precision if has_gt else None,
                    "recall": c.recall if has_gt else None,
                    "f1": c.f1 if has_gt else None,
                    "tp": c.tp,
                    "fp": c.fp,
                    "fn": c.fn,
                }
            )
            curves.append([[r, p] for r, p in pr_curve(s, t, n_gt)])
            best.append(best_f1(s, t, n_gt))
        summary: dict[str, float | None] = dict(coco["summary"])
        rows = [row for row in per_class if row["support"] > 0]
        for key in ("precision", "recall", "f1"):
            summary[key] = float(np.mean([row[key] for row in rows])) if rows else None
        return _Result(summary, per_class, curves, best)

    def _coco_numbers(self) -> dict[str, Any]:
        """COCO summary and per-class AP/AR from one COCOeval run (via torchmetrics)."""
        if self._num_images == 0:
            return {"summary": dict.fromkeys(_COCO_KEYS), "per_class": {}}
        out = self._coco.compute()
        summary = {key: _defined(float(out[key])) for key in _COCO_KEYS}
        per_class: dict[int, dict[str, float | None]] = {}
        if "precision" in out:  # absent when COCOeval did not run (no images)
            precision = out["precision"].numpy()  # (T, R, K, A, M); A=0: all areas, M=-1: 100 dets
            recall = out["recall"].numpy()  # (T, K, A, M)
            thrs = np.asarray(self.iou_thresholds)
            for idx, label in enumerate(out["classes"].reshape(-1).tolist()):
                p = precision[:, :, idx, 0, -1]
                per_class[int(label)] = {
                    "ap": _mean_defined(p),
                    "ap_50": _mean_defined(p[np.isclose(thrs, 0.5)]),
                    "ap_75": _mean_defined(p[np.isclose(thrs, 0.75)]),
                    "ar_100": _mean_defined(recall[:, idx, 0, -1]),
                }
        return {"summary": summary, "per_class": per_class}


def _tensor(x: Any, dtype: torch.dtype) -> torch.Tensor:
    t = x.as_subclass(torch.Tensor) if isinstance(x, torch.Tensor) else torch.as_tensor(x)
    return t.detach().to("cpu", dtype)


def _defined(value: float) -> float | None:
    return None if value < 0 else value  # COCO writes -1 for "nothing to measure"


def _mean_defined(values: np.ndarray) -> float | None:
    defined = values[values > -1]
    return float(defined.mean()) if defined.size else None
