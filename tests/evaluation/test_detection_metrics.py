"""DetectionMetrics: COCO numbers cross-checked against pycocotools' COCOeval run directly on
COCO json files, plus the threshold-dependent numbers, PR curves and best-F1 thresholds."""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from autolearn.evaluation.detection import METRIC_NAMES, DetectionMetrics
from autolearn.evaluation.detection_curves import curve_ap

CLASSES = ["cup", "plate", "bowl"]  # bowl: predicted once, never in the ground truth

# Per image: ground truth [(label, xyxy)], predictions [(label, xyxy, score)].
# Boxes span small (< 32²), medium and large (> 96²) areas.
IMAGES: list[tuple[list[tuple[int, list[float]]], list[tuple[int, list[float], float]]]] = [
    (  # a hit, a duplicate of it, a loose plate
        [(0, [10, 10, 50, 50]), (1, [100, 100, 300, 260])],
        [
            (0, [12, 11, 50, 52], 0.9),
            (0, [8, 10, 48, 49], 0.8),
            (1, [90, 120, 280, 270], 0.7),
        ],
    ),
    (  # one small cup found, one missed, a background false positive
        [(0, [20, 20, 40, 40]), (0, [60, 60, 100, 100])],
        [(0, [21, 19, 41, 40], 0.6), (0, [200, 200, 230, 230], 0.3)],
    ),
    (  # a negative image: no ground truth, two false positives
        [],
        [(1, [0, 0, 100, 100], 0.2), (0, [50, 50, 70, 70], 0.1)],
    ),
    (  # a plate nobody predicted
        [(1, [0, 0, 120, 120])],
        [],
    ),
    (  # a good plate, the cup called a plate, a bowl that is not there
        [(0, [30, 30, 70, 80]), (1, [150, 40, 320, 200])],
        [
            (1, [155, 45, 318, 205], 0.95),
            (1, [30, 30, 70, 80], 0.4),
            (2, [400, 400, 450, 450], 0.35),
        ],
    ),
    (  # a loose cup (IoU ≥ .5, < .75) scored above a tight one
        [(0, [100, 100, 160, 160])],
        [(0, [112, 100, 172, 160], 0.5), (0, [101, 101, 160, 161], 0.45)],
    ),
]


def _as_torch(images=IMAGES):
    preds, targets = [], []
    for gts, dets in images:
        targets.append(
            {
                "boxes": torch.tensor([b for _, b in gts], dtype=torch.float32).reshape(-1, 4),
                "labels": torch.tensor([c for c, _ in gts], dtype=torch.int64),
            }
        )
        preds.append(
            {
                "boxes": torch.tensor([b for _, b, _ in dets], dtype=torch.float32).reshape(-1, 4),
                "scores": torch.tensor([s for _, _, s in dets], dtype=torch.float32),
                "labels": torch.tensor([c for c, _, _ in dets], dtype=torch.int64),
            }
        )
    return preds, targets


def _xywh(b: list[float]) -> list[float]:
    return [b[0], b[1], b[2] - b[0], b[3] - b[1]]


def _cocoeval(tmp_path: Path) -> COCOeval:
    """COCOeval straight from json files (image ids from 1, category ids = label + 1)."""
    gt = {"images": [], "annotations": [], "categories": []}
    dets = []
    for i, (gts, preds) in enumerate(IMAGES):
        gt["images"].append({"id": i + 1, "width": 640, "height": 480})
        for c, b in gts:
            x, y, w, h = _xywh(b)
            gt["annotations"].append(
                {
                    "id": len(gt["annotations"]) + 1,
                    "image_id": i + 1,
                    "category_id": c + 1,
                    "bbox": [x, y, w, h],
                    "area": w * h,
                    "iscrowd": 0,
                }
            )
        for c, b, s in preds:
            dets.append({"image_id": i + 1, "category_id": c + 1, "bbox": _xywh(b), "score": s})
    gt["categories"] = [{"id": k + 1, "name": n} for k, n in enumerate(CLASSES)]
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "dets.json").write_text(json.dumps(dets))
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO(str(tmp_path / "gt.json"))
        ev = COCOeval(coco_gt, coco_gt.loadRes(str(tmp_path / "dets.json")), iouType="bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


def _metrics(images=IMAGES, batch: int = 4, **kwargs) -> DetectionMetrics:
    m = DetectionMetrics(len(CLASSES), CLASSES, **kwargs)
    preds, targets = _as_torch(images)
    for i in range(0, len(preds), batch):
        m.update(preds[i : i + batch], targets[i : i + batch])
    return m


def test_matches_pycocotools(tmp_path: Path) -> None:
    ev = _cocoeval(tmp_path)
    m = _metrics()
    assert m.backend == "pycocotools"
    got = m.compute()
    stats = ev.stats
    expected = {
        "map": stats[0],
        "map_50": stats[1],
        "map_75": stats[2],
        "map_small": stats[3],
        "map_medium": stats[4],
        "map_large": stats[5],
        "mar_1": stats[6],
        "mar_10": stats[7],
        "mar_100": stats[8],
    }
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, abs=1e-4), key
    # A fixture that actually exercises the metric (not all 0 or 1).
    assert 0.1 < got["map"] < got["map_50"] < 1.0
    assert got["map_75"] < got["map_50"]

    rows = {row["class"]: row for row in m.report()["per_class"]}
    precision = ev.eval["precision"]  # (T, R, K, A, M)
    for k, name in enumerate(CLASSES):
        p = precision[:, :, k, 0, -1]
        if (p > -1).any():
            assert rows[name]["ap"] == pytest.approx(p[p > -1].mean(), abs=1e-4)
            assert rows[name]["ap_50"] == pytest.approx(p[0].mean(), abs=1e-4)
            assert rows[name]["ap_75"] == pytest.approx(p[5].mean(), abs=1e-4)
        else:
            assert name == "bowl"
            assert rows[name]["ap"] is None and rows[name]["ap_50"] is None
    # COCO leaves the class without ground truth out of the mean.
    aps = [r["ap"] for r in rows.values() if r["ap"] is not None]
    assert got["map"] == pytest.approx(np.mean(aps), abs=1e-6)


def test_per_class_report_and_threshold_numbers() -> None:
    m = _metrics()
    report = m.report()
    rows = {row["class"]: row for row in report["per_class"]}
    # cup: GT 5; at score ≥ 0.5: 0.9 TP, 0.8 duplicate FP, 0.6 TP, 0.5 TP (loose, IoU ≥ .5).
    assert rows["cup"]["support"] == 5
    assert (rows["cup"]["tp"], rows["cup"]["fp"], rows["cup"]["fn"]) == (3, 1, 2)
    assert rows["cup"]["precision"] == pytest.approx(0.75)
    assert rows["cup"]["recall"] == pytest.approx(0.6)
    assert rows["cup"]["f1"] == pytest.approx(2 / 3)
    # plate: GT 3; 0.95 TP, 0.7 TP (IoU ≈ .71); the 0.4 and 0.2 ones are below the threshold.
    assert (rows["plate"]["tp"], rows["plate"]["fp"], rows["plate"]["fn"]) == (2, 0, 1)
    # bowl: no ground truth → undefined, not zero.
    assert rows["bowl"]["support"] == 0 and rows["bowl"]["precision"] is None
    got = m.compute()
    assert got["precision"] == pytest.approx((0.75 + 1.0) / 2)
    assert got["recall"] == pytest.approx((0.6 + 2 / 3) / 2)
    assert got["f1"] == pytest.approx((2 / 3 + 0.8) / 2)

    # PR curves: recall increasing, precision not increasing, ≤ 101 points, and their
    # 101-point area is COCO's AP@0.5.
    for name in ("cup", "plate"):
        curve = report["pr_curves"][name]
        assert 0 < len(curve) <= 101
        recalls = [r for r, _ in curve]
        precisions = [p for _, p in curve]
        assert recalls == sorted(recalls) and len(set(recalls)) == len(recalls)
        assert all(a >= b for a, b in itertools.pairwise(precisions))
        assert curve_ap([(r, p) for r, p in curve]) == pytest.approx(rows[name]["ap_50"], abs=1e-6)
    assert report["pr_curves"]["bowl"] == []
    json.dumps(report, allow_nan=False)  # storable as strict JSON


def test_best_f1_thresholds() -> None:
    # cup: three hits scored high, false positives only at low scores.
    images = [
        ([(0, [0, 0, 40, 40])], [(0, [0, 0, 40, 40], 0.9), (0, [100, 100, 140, 140], 0.2)]),
        ([(0, [10, 10, 60, 60])], [(0, [10, 10, 60, 60], 0.8), (0, [0, 100, 30, 130], 0.1)]),
        ([(0, [5, 5, 50, 50])], [(0, [6, 5, 50, 50], 0.7), (0, [200, 0, 230, 30], 0.15)]),
        # plate: found only at a low score, with a stronger false positive above it.
        ([(1, [0, 0, 100, 100])], [(1, [300, 300, 400, 400], 0.6), (1, [0, 0, 100, 100], 0.3)]),
    ]
    best = _metrics(images).report()["best_f1_thresholds"]
    assert best["cup"] == {
        "threshold": pytest.approx(0.7),
        "precision": 1.0,
        "recall": 1.0,
        "f1": 1.0,
    }
    assert best["plate"]["threshold"] == pytest.approx(0.3)
    assert best["plate"]["f1"] == pytest.approx(2 / 3)
    assert best["bowl"]["threshold"] is None  # no ground truth: nothing to tune on


def test_perfect_predictions_score_one() -> None:
    images = [
        ([(c, b) for c, b in gts], [(c, b, 0.99) for c, b in gts]) for gts, _ in IMAGES if gts
    ]
    m = _metrics(images)
    got = m.compute()
    for key in ("map", "map_50", "map_75", "mar_100", "precision", "recall", "f1"):
        assert got[key] == pytest.approx(1.0), key
    assert m.metric() == pytest.approx(1.0)  # primary: map_50


def test_no_predictions_score_zero() -> None:
    images = [(gts, []) for gts, _ in IMAGES]
    m = _metrics(images)
    got = m.compute()
    for key in ("map", "map_50", "map_75", "mar_100", "precision", "recall", "f1"):
        assert got[key] == 0.0, key
    report = m.report()
    assert report["per_class"][0]["ap"] == 0.0 and report["per_class"][0]["fn"] == 5
    assert report["pr_curves"]["cup"] == []
    assert report["best_f1_thresholds"]["cup"]["threshold"] is None


def test_empty_and_reset() -> None:
    m = DetectionMetrics(3, CLASSES)
    assert m.compute() == dict.fromkeys(METRIC_NAMES, 0.0)
    report = m.report()
    assert report["num_images"] == 0
    assert all(row["ap"] is None and row["precision"] is None for row in report["per_class"])
    json.dumps(report, allow_nan=False)

    m.update(*_as_torch())
    assert m.compute()["map"] > 0
    m.reset()
    assert m.compute()["map"] == 0.0

    # Only negative images: nothing is defined, nothing crashes.
    m.update(*_as_torch([([], [(0, [0, 0, 10, 10], 0.9)]), ([], [])]))
    assert all(not math.isnan(v) and v == 0.0 for v in m.compute().values())
    assert m.report()["per_class"][0]["fp"] == 1


def test_primary_metric_and_validation() -> None:
    m = _metrics(primary="map")
    assert m.metric() == m.compute()["map"]
    assert m.metric("map_50") == m.compute()["map_50"]
    with pytest.raises(ValueError, match="unknown metric"):
        m.metric("accuracy")
    with pytest.raises(ValueError, match="unknown metric"):
        DetectionMetrics(3, CLASSES, primary="accuracy")
    with pytest.raises(ValueError, match="class indices"):
        m.update(
            [{"boxes": torch.zeros(1, 4), "scores": torch.ones(1), "labels": torch.tensor([3])}],
            [{"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64)}],
        )
    assert m.report(["a", "b", "c"])["classes"] == ["a", "b", "c"]


def test_matching_agrees_with_coco_under_score_ties() -> None:
    """Our IoU-0.5 matching (PR curves, thresholds) reproduces COCOeval's on random data with
    many equal scores: the 101-point area of each PR curve is COCO's AP@0.5."""
    rng = np.random.default_rng(0)
    images = []
    for _ in range(40):
        gts = []
        for _ in range(rng.integers(0, 6)):
            x, y = rng.uniform(0, 300, 2)
            w, h = rng.uniform(8, 150, 2)
            gts.append((int(rng.integers(0, 3)), [x, y, x + w, y + h]))
        dets = []
        for c, (x1, y1, x2, y2) in gts:  # jittered hits, sometimes with the wrong class
            j = rng.normal(0, 6, 4)
            box = [
                x1 + j[0],
                y1 + j[1],
                max(x2 + j[2], x1 + j[0] + 2),
                max(y2 + j[3], y1 + j[1] + 2),
            ]
            label = c if rng.random() < 0.8 else int(rng.integers(0, 3))
            dets.append((label, box, round(float(rng.uniform(0.3, 1.0)), 1)))
        for _ in range(rng.integers(0, 8)):  # background and near-duplicate noise
            x, y = rng.uniform(0, 300, 2)
            w, h = rng.uniform(8, 150, 2)
            dets.append(
                (int(rng.integers(0, 3)), [x, y, x + w, y + h], round(rng.uniform(0, 0.7), 1))
            )
        images.append((gts, dets))
    report = _metrics(images, batch=7).report()
    for row in report["per_class"]:
        assert row["support"] > 0
        curve = report["pr_curves"][row["class"]]
        assert curve_ap([(r, p) for r, p in curve]) == pytest.approx(row["ap_50"], abs=1e-9)
