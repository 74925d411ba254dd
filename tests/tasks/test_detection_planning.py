"""Detection and tableware tasks: presets, metric, box counts and scenario checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from autolearn.datasets.partition import partition, strata
from autolearn.datasets.service import ensure_sample, load_manifest
from autolearn.models.presets import DETECTION_PRESETS, TABLEWARE_PRESETS
from autolearn.tasks.service import TaskError, create_task, parse_spec


def _spec(scenario: str, **model: object) -> dict:
    return {
        "basic": {"scenario": scenario},
        "data": {"source": {"type": "sample", "sample": "tableware"}},
        "model": model,
    }


@pytest.mark.parametrize("preference", ["speed", "balanced", "accuracy"])
def test_presets_by_preference_and_tableware_sizes(autolearn_home: Path, preference: str) -> None:
    detection = create_task(parse_spec(_spec("detection", preference=preference)))["plan"]
    tableware = create_task(parse_spec(_spec("tableware", preference=preference)))["plan"]
    preset = DETECTION_PRESETS[preference]
    assert (detection["arch"], detection["model"]) == (preset.arch, preset.backbone)
    assert detection["input_size"] == preset.input_size and not detection["overhead"]
    table = TABLEWARE_PRESETS[preference]
    assert (tableware["arch"], tableware["input_size"]) == (table.arch, table.input_size)
    assert tableware["overhead"] and tableware["input_size"] > detection["input_size"]
    assert tableware["detector_options"] == dict(table.options)
    assert detection["metric"] == tableware["metric"] == "map_50"
    steps = detection["epochs"] * (180 // detection["batch_size"])  # ~180 training images
    assert steps >= preset.steps * 0.9


def test_counts_are_boxes_and_the_split_reaches_every_class(autolearn_home: Path) -> None:
    task = create_task(parse_spec(_spec("tableware")))
    plan = task["plan"]
    version = ensure_sample("tableware")
    manifest = load_manifest(version)
    boxes = {c: 0 for c in manifest.classes}
    for item in manifest.items:
        for b in item.boxes or ():
            boxes[b.label] += 1
    assert {c: plan["train_counts"][c] + plan["val_counts"][c] for c in boxes} == boxes
    assert all(plan["val_counts"][c] > 0 for c in manifest.classes)
    assert plan["classes"] == manifest.classes
    assert task["scenario"] == "tableware" and task["model"].startswith("fcos/")


def test_rarest_class_stratifies_detection_items(autolearn_home: Path) -> None:
    manifest = load_manifest(ensure_sample("tableware"))
    keys = strata(manifest.items)
    assert set(keys) <= set(manifest.classes) | {""}
    part = partition(manifest, True, 20, 0)
    assert abs(len(part.val) - round(0.2 * len(manifest.items))) <= len(manifest.classes)


def test_metric_and_scenario_mismatches_say_what_to_fix(autolearn_home: Path) -> None:
    with pytest.raises(TaskError, match="a classification task needs a classification dataset"):
        create_task(parse_spec(_spec("classification")))
    with pytest.raises(TaskError, match="'accuracy' is not a metric of a tableware task"):
        parse_spec(_spec("tableware", metric="accuracy"))
    plan = create_task(parse_spec(_spec("detection", metric="map", expected_accuracy=0.4)))
    assert plan["plan"]["metric"] == "map" and plan["metric"] == "map"


def test_small_box_classes_warn_but_keep_the_lr(autolearn_home: Path) -> None:
    """The seed's lr ÷ 10 rule is for fine-tuning classifiers, not fresh detection heads."""
    task = create_task(parse_spec(_spec("detection", hyperparams={"batch_size": 8})))
    codes = {a["code"] for a in task["advice"]}
    assert "small_data_lr" not in codes
    assert task["plan"]["lr"] == pytest.approx(1e-3)
