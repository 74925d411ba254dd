"""Detection tasks end to end on tiny data: resume equals an uninterrupted run, the
model carries its score thresholds, and incremental training adds classes by name."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from autolearn.datasets.formats.base import Box
from autolearn.datasets.samples.tableware import build, generate_scene
from autolearn.datasets.service import import_dataset
from autolearn.scheduler.worker import run_task
from autolearn.storage import open_store
from autolearn.tasks.results import LAST_KEY, META_KEY, MODEL_KEY, REPORT_KEY
from autolearn.tasks.service import create_task, get_task, parse_spec
from autolearn.training.callbacks import StopReason
from autolearn.training.callbacks.checkpoint import load_torch
from autolearn.training.detection_data import DetectionSample
from autolearn.training.detection_runner import run_detection
from autolearn.training.hparams import Plan
from autolearn.training.runner import RunInputs

pytestmark = pytest.mark.slow
CLASSES = ["plate", "bowl", "cup", "saucer"]


def _scenes(seed: int, n: int) -> list[DetectionSample]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        image, anns = generate_scene(rng, 160, 120)
        boxes = tuple(Box(a["label"], *a["bbox"]) for a in anns)
        labels = tuple(CLASSES.index(b.label) for b in boxes)
        out.append(DetectionSample(lambda im=image: im, boxes, labels, f"scene-{seed}-{i}"))
    return out


def _plan(epochs: int = 3) -> Plan:
    return Plan(
        scenario="detection",
        metric="map_50",
        arch="fcos",
        model="test_tiny",
        input_size=128,
        mean=(0.5, 0.5, 0.5),
        std=(0.5, 0.5, 0.5),
        classes=CLASSES,
        train_counts={},
        val_counts={},
        fixed_validation=False,
        epochs=epochs,
        lr=2e-3,
        batch_size=4,
        warmup_epochs=0.5,
        expected_accuracy=None,
        max_duration_s=600,
        estimated_train_s=1.0,
    )


def _inputs(store_dir: Path, stop_at_step: int | None = None) -> RunInputs:
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return stop_at_step is not None and calls["n"] >= stop_at_step

    store_dir.mkdir(parents=True, exist_ok=True)
    return RunInputs(
        plan=_plan(),
        train=_scenes(0, 16),
        val=_scenes(1, 8),
        store=open_store(store_dir.as_uri()),
        sink=lambda event: None,
        external_stop=stop,
        num_workers=0,
        progress_interval_s=0,
    )


def test_resumed_detection_run_matches_an_uninterrupted_one(tmp_path: Path) -> None:
    straight = run_detection(_inputs(tmp_path / "straight"))
    assert straight.stop_reason is StopReason.COMPLETED
    stopped = run_detection(_inputs(tmp_path / "resumed", stop_at_step=6))  # mid epoch 2
    assert stopped.stop_reason is StopReason.USER_STOP
    resumed = run_detection(_inputs(tmp_path / "resumed"))
    assert resumed.resumed_from_epoch == 1 and resumed.stop_reason is StopReason.COMPLETED
    a = load_torch(open_store((tmp_path / "straight").as_uri()), LAST_KEY)["model"]
    b = load_torch(open_store((tmp_path / "resumed").as_uri()), LAST_KEY)["model"]
    for key, value in a.items():
        assert torch.allclose(value.float(), b[key].float(), atol=1e-5), key
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3]


def test_model_and_report_carry_per_class_thresholds(tmp_path: Path) -> None:
    result = run_detection(_inputs(tmp_path / "out"))
    store = open_store((tmp_path / "out").as_uri())
    report = store.get_json(REPORT_KEY)
    meta = store.get_json(META_KEY)
    model = load_torch(store, MODEL_KEY)
    assert set(report["score_thresholds"]) == set(CLASSES)
    assert meta["score_thresholds"] == report["score_thresholds"]
    assert model["meta"]["score_thresholds"] == report["score_thresholds"]
    assert model["meta"]["arch"] == "fcos" and model["meta"]["classes"] == CLASSES
    assert result.best_epoch == report["best_epoch"] and result.metrics == report["metrics"]
    for name, best in report["best_f1_thresholds"].items():
        if best["threshold"] is not None:
            assert report["score_thresholds"][name] == best["threshold"]
    assert {"per_class", "pr_curves", "summary", "history"} <= set(report)
    val = {s.sha256: s for s in _scenes(1, 8)}
    cases = report["bad_cases"]  # a 3-epoch detector still errs on some scene
    assert cases and [c["errors"] for c in cases] == sorted(
        (c["errors"] for c in cases), reverse=True
    )
    for case in cases:
        assert case["errors"] == len(case["missed"]) + len(case["false"])
        truth = val[case["sha256"]].boxes
        for box in case["missed"]:  # back in the 160 x 120 image's own pixels
            assert any(
                b.label == box["label"]
                and max(
                    abs(u - v) for u, v in zip(box["box"], (b.x1, b.y1, b.x2, b.y2), strict=True)
                )
                < 1
                for b in truth
            )
        for box in case["false"]:
            x1, y1, x2, y2 = box["box"]
            assert box["label"] in CLASSES and 0 <= x1 <= x2 <= 161 and 0 <= y1 <= y2 <= 121


def _dataset(root: Path, keep: set[str]) -> Path:
    """The tableware sample with only the ``keep`` classes labelled (COCO)."""
    folder = build(root, n_images=32, size=(160, 120), vary_size=False)
    path = folder / "annotations" / "instances.json"
    coco = json.loads(path.read_text())
    cats = [c for c in coco["categories"] if c["name"] in keep]
    ids = {c["id"] for c in cats}
    coco["categories"] = cats
    coco["annotations"] = [a for a in coco["annotations"] if a["category_id"] in ids]
    path.write_text(json.dumps(coco))
    return folder


def test_incremental_detection_adds_classes_by_name(autolearn_home: Path) -> None:
    import_dataset(_dataset(autolearn_home / "two", {"plate", "cup"}), name="two")
    import_dataset(_dataset(autolearn_home / "four", set(CLASSES)), name="four")
    model = {"pretrained": "test_tiny", "preference": "speed", "max_duration": 600}
    model["hyperparams"] = {"epochs": 1, "batch_size": 4}
    base = create_task(
        parse_spec(
            {
                "basic": {"scenario": "detection"},
                "data": {"source": {"type": "dataset", "dataset": "two"}},
                "model": model,
            }
        )
    )
    assert run_task(base["id"]).value == "SUCCEED"
    task = create_task(
        parse_spec(
            {
                "basic": {"scenario": "tableware"},
                "data": {
                    "source": {"type": "dataset", "dataset": "four"},
                    "incremental": {"enabled": True, "base_task": base["id"]},
                },
                "model": model,
            }
        )
    )
    plan = task["plan"]
    assert plan["classes"][:2] == base["plan"]["classes"] == ["plate", "cup"]
    assert set(plan["classes"]) == set(CLASSES)
    assert (plan["arch"], plan["model"], plan["input_size"]) == (
        base["plan"]["arch"],
        "test_tiny",
        base["plan"]["input_size"],
    )
    assert run_task(task["id"]).value == "SUCCEED"
    done = get_task(task["id"])
    report = open_store(done["output_uri"]).get_json(REPORT_KEY)
    inc = report["incremental"]
    assert inc["carried_classes"] == ["plate", "cup"]
    assert sorted(inc["new_classes"]) == ["bowl", "saucer"]
    assert set(inc["base_model_ap_50"]) == set(inc["new_model_ap_50"]) == {"plate", "cup"}
    assert set(done["metrics"]["incremental"]) == {"base_model_ap_50", "new_model_ap_50"}
