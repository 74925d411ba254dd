"""Incremental training: a 2-class base task, then a task that adds a third class."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from autolearn.datasets.service import import_dataset
from autolearn.models.classification import classifier_layer
from autolearn.scheduler.worker import run_task
from autolearn.tasks.results import read_report
from autolearn.tasks.service import create_task, get_task, parse_spec
from autolearn.training.hparams import Plan
from autolearn.training.runner import _build_model, load_model_file

pytestmark = pytest.mark.slow


def test_incremental_task_carries_the_base_rows_and_adds_a_class(
    autolearn_home: Path,
    make_learnable_folder: Callable[..., Path],
    tiny_spec: Callable[..., dict[str, Any]],
) -> None:
    make_learnable_folder(autolearn_home / "v1", {"red": 40, "green": 40})
    import_dataset(autolearn_home / "v1", name="colours")
    base_id = create_task(parse_spec(tiny_spec()))["id"]
    assert run_task(base_id).value == "SUCCEED"
    base = get_task(base_id)

    make_learnable_folder(autolearn_home / "v2", {"red": 40, "green": 40, "blue": 40}, seed=1)
    v2 = import_dataset(autolearn_home / "v2", name="colours")
    assert v2.ref == "colours:v2"
    spec = tiny_spec()
    spec["data"] = {
        "source": {"type": "dataset", "dataset": "colours:v2"},
        "incremental": {"enabled": True, "base_task": base_id},
    }
    spec["model"]["pretrained"] = "auto"  # the base task's model is used whatever this says
    task = create_task(parse_spec(spec))
    plan = Plan.model_validate(task["plan"])
    assert plan.classes == ["green", "red", "blue"]  # base order kept, the new class appended
    assert plan.base_classes == ["green", "red"] and plan.model == "test_tiny"

    # Before training: the base rows are the base model's rows, the new row is fresh.
    model, info = _build_model(plan)
    assert info is not None and info["transfer"]["carried"] == ["green", "red"]
    base_state = load_model_file(base["model_uri"])["state_dict"]
    head = classifier_layer(model)
    assert torch.equal(head.weight[:2], base_state["classifier.weight"])
    assert torch.equal(head.bias[:2], base_state["classifier.bias"])
    assert not torch.equal(head.weight[2], head.weight[0])

    assert run_task(task["id"]).value == "SUCCEED"
    done = get_task(task["id"])
    report = read_report(done)
    assert report is not None
    inc = report["incremental"]
    assert inc["base_task"] == base_id and inc["new_classes"] == ["blue"]
    assert 0.0 <= inc["base_model_base_class_accuracy"] <= 1.0
    assert 0.0 <= inc["new_model_base_class_accuracy"] <= 1.0
    assert inc["base_class_val_images"] == 16
    assert [r["class"] for r in report["per_class"]] == ["green", "red", "blue"]
    assert done["metrics"]["incremental"]["new_model_base_class_accuracy"] is not None
