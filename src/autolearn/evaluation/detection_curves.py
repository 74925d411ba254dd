"""Threshold-dependent detection numbers in numpy, by COCO's rules: matching at one IoU,
precision/recall at a score threshold, PR curves and the F1-optimal score threshold.

COCO mAP itself comes from pycocotools (see ``detection.py``); these functions reproduce
COCOeval's matching exactly (detections by descending score, stable order; each takes the
still-unmatched ground truth of its class with the highest IoU ≥ the threshold; at most
``max_detections`` per image and class), so the 101-point AP of :func:`pr_curve` equals
COCOeval's AP at that IoU.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RECALL_LEVELS = np.linspace(0.0, 1.0, 101)  # COCO's recThrs
_EPS = float(np.spacing(1))  # COCOeval adds it to TP + FP


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of xyxy boxes ``a`` (N, 4) against ``b`` (M, 4) → (N, M), as pycocotools computes it."""
    a = a.reshape(-1, 4).astype(np.float64)
    b = b.reshape(-1, 4).astype(np.float64)
    w = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    h = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.clip(w, 0, None) * np.clip(h, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def match_image(
    pred_boxes: np.ndarray,
    pred_scores: np.ndarray,
    pred_labels: np.ndarray,
    gt_boxes: np.ndarray,
    gt_labels: np.ndarray,
    iou_threshold: float = 0.5,
    max_detections: int = 100,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Greedy COCO matching on one image → (scores, labels, is_true_positive) of the kept
    detections (the top ``max_detections`` per class)."""
    scores_out, labels_out, tp_out = [], [], []
    thr = min(iou_threshold, 1 - 1e-10)  # as COCOeval
    for label in np.unique(pred_labels):
        det = np.flatnonzero(pred_labels == label)
        det = det[np.argsort(-pred_scores[det], kind="mergesort")][:max_detections]
        gt = np.flatnonzero(gt_labels == label)
        ious = box_iou(pred_boxes[det], gt_boxes[gt])
        taken = np.zeros(len(gt), dtype=bool)
        tp = np.zeros(len(det), dtype=bool)
        for i in range(len(det)):
            cand = np.where(~taken & (ious[i] >= thr), ious[i], -1.0)
            if len(cand) and cand.max() >= 0:
                j = len(cand) - 1 - int(np.argmax(cand[::-1]))  # ties → the later one, as COCOeval
                taken[j] = tp[i] = True
        scores_out.append(pred_scores[det])
        labels_out.append(np.full(len(det), label, dtype=np.int64))
        tp_out.append(tp)
    if not scores_out:
        return np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
    return np.concatenate(scores_out), np.concatenate(labels_out), np.concatenate(tp_out)


def operating_points(
    scores: np.ndarray, tp: np.ndarray, num_gt: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(scores, precision, recall) after each detection, by descending score."""
    order = np.argsort(-scores, kind="mergesort")
    ctp = np.cumsum(tp[order]).astype(np.float64)
    cfp = np.cumsum(~tp[order]).astype(np.float64)
    recall = ctp / num_gt if num_gt > 0 else np.zeros_like(ctp)
    return scores[order], ctp / (ctp + cfp + _EPS), recall


def pr_curve(scores: np.ndarray, tp: np.ndarray, num_gt: int) -> list[tuple[float, float]]:
    """COCO's interpolated PR curve: (recall level, best precision at recall ≥ it) for the
    101 recall levels 0, 0.01, …, 1 that the detections reach. Empty without ground truth."""
    if num_gt == 0:
        return []
    _, precision, recall = operating_points(scores, tp, num_gt)
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    idx = np.searchsorted(recall, RECALL_LEVELS, side="left")
    reached = idx < len(recall)
    levels, at = RECALL_LEVELS[reached], idx[reached]
    return [(float(r), float(p)) for r, p in zip(levels, envelope[at], strict=True)]


def curve_ap(curve: list[tuple[float, float]]) -> float:
    """101-point AP of a :func:`pr_curve` (recall levels it does not reach count as 0)."""
    return sum(p for _, p in curve) / len(RECALL_LEVELS)


@dataclass(frozen=True)
class Counts:
    """True/false positives and misses among the detections kept at a score threshold."""

    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        return 2 * self.tp / (2 * self.tp + self.fp + self.fn) if self.tp else 0.0


def counts_at(scores: np.ndarray, tp: np.ndarray, num_gt: int, threshold: float) -> Counts:
    """Counts for the detections with ``score >= threshold``."""
    keep = scores >= threshold
    n_tp = int(tp[keep].sum())
    return Counts(tp=n_tp, fp=int(keep.sum()) - n_tp, fn=num_gt - n_tp)


def best_f1(scores: np.ndarray, tp: np.ndarray, num_gt: int) -> dict[str, float | None]:
    """The score threshold (keep ``score >= threshold``) with the highest F1; on a tie the
    higher threshold. Threshold ``None`` when there is nothing to tune on: no ground truth
    (precision/recall/F1 ``None`` too) or no true positive at any threshold (all 0)."""
    if num_gt == 0:
        return {"threshold": None, "precision": None, "recall": None, "f1": None}
    if len(scores) == 0:
        return {"threshold": None, "precision": 0.0, "recall": 0.0, "f1": 0.0}
    s, precision, recall = operating_points(scores, tp, num_gt)
    f1 = np.divide(
        2 * precision * recall,
        precision + recall,
        out=np.zeros_like(precision),
        where=precision + recall > 0,
    )
    f1[np.r_[s[1:] == s[:-1], False]] = -1.0  # a threshold keeps every detection of its score
    if f1.max() <= 0:
        return {"threshold": None, "precision": 0.0, "recall": 0.0, "f1": 0.0}
    i = int(np.argmax(f1))
    c = counts_at(scores, tp, num_gt, float(s[i]))
    return {"threshold": float(s[i]), "precision": c.precision, "recall": c.recall, "f1": c.f1}
