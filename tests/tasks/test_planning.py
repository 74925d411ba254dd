"""'auto' hyper-parameters and the seed's advice, resolved when a task is created."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from autolearn.datasets.advisor import advise_duration
from autolearn.datasets.service import import_dataset
from autolearn.models.presets import input_size_for
from autolearn.tasks.service import TaskError, create_task, parse_spec, stop_task

Folder = Callable[..., Path]


def _import(tmp_path: Path, make_learnable_folder: Folder, counts: dict[str, int]) -> None:
    make_learnable_folder(tmp_path / "colours", counts)
    import_dataset(tmp_path / "colours", name="colours")


def _create(**model: object) -> dict:
    data = {"source": {"type": "dataset", "dataset": "colours"}}
    return create_task(parse_spec({"data": data, "model": model}))


def test_few_images_warn_and_auto_lr_is_divided(
    autolearn_home: Path, make_learnable_folder: Folder
) -> None:
    _import(autolearn_home, make_learnable_folder, {"a": 12, "b": 40})
    task = _create(preference="speed")
    codes = {a["code"]: a for a in task["advice"]}
    assert "few_images" in codes and "a (" in codes["few_images"]["message"]
    assert codes["small_data_lr"]["applied"] is True
    auto_lr = 1e-3 * task["plan"]["batch_size"] / 32
    assert task["plan"]["lr"] == pytest.approx(auto_lr / 10)
    assert task["status"] == "QUEUED"


def test_custom_lr_is_kept_and_only_suggested(
    autolearn_home: Path, make_learnable_folder: Folder
) -> None:
    _import(autolearn_home, make_learnable_folder, {"a": 30, "b": 30})
    task = _create(hyperparams={"lr": 0.02})
    advice = {a["code"]: a for a in task["advice"]}
    assert task["plan"]["lr"] == 0.02
    assert advice["small_data_lr"]["applied"] is False
    assert "0.002" in advice["small_data_lr"]["message"]
    assert "few_images" not in advice  # 24 training images per class ≥ 20


def test_enough_data_gets_no_data_advice(
    autolearn_home: Path, make_learnable_folder: Folder
) -> None:
    _import(autolearn_home, make_learnable_folder, {"a": 70, "b": 70})
    task = _create(preference="speed")
    assert not [a for a in task["advice"] if a["code"] in ("few_images", "small_data_lr")]
    plan = task["plan"]
    assert plan["model"] == "tf_efficientnet_lite0.in1k"
    assert plan["input_size"] == 64  # 32 px images are not upscaled to 224
    assert plan["train_counts"] == {"a": 56, "b": 56}
    assert plan["val_counts"] == {"a": 14, "b": 14}


def test_long_run_advice_halves_epochs_or_raises_lr() -> None:
    advice = advise_duration(estimated_s=7200, max_duration_s=3600, epochs=10, lr=0.001)
    assert advice and "epochs 5" in advice[0].message and "lr 0.005" in advice[0].message
    assert advise_duration(estimated_s=60, max_duration_s=3600, epochs=10, lr=0.001) == []


def test_preferences_pick_models(autolearn_home: Path, make_learnable_folder: Folder) -> None:
    _import(autolearn_home, make_learnable_folder, {"a": 60, "b": 60})
    picked = {p: _create(preference=p)["plan"]["model"] for p in ("speed", "balanced", "accuracy")}
    assert picked == {
        "speed": "tf_efficientnet_lite0.in1k",
        "balanced": "tf_efficientnet_lite1.in1k",
        "accuracy": "tf_efficientnet_lite2.in1k",
    }
    assert _create(pretrained="lite2")["plan"]["model"] == "tf_efficientnet_lite2.in1k"


def test_input_size_rules() -> None:
    assert input_size_for(224, None) == 224
    assert input_size_for(224, 500) == 224
    assert input_size_for(224, 100) == 128
    assert input_size_for(240, 8) == 64


def test_spec_is_pinned_to_a_version_and_written_to_the_output(
    autolearn_home: Path, make_learnable_folder: Folder
) -> None:
    _import(autolearn_home, make_learnable_folder, {"a": 30, "b": 30})
    task = _create()
    assert task["spec"]["data"]["source"]["dataset"] == "colours:v1"
    out = Path(task["output_uri"].removeprefix("file://"))
    assert (out / "spec.json").is_file() and (out / "plan.json").is_file()


def test_errors_name_the_field(autolearn_home: Path, make_learnable_folder: Folder) -> None:
    with pytest.raises(TaskError, match=r"data.source: .*nope"):
        create_task(parse_spec({"data": {"source": {"type": "dataset", "dataset": "nope"}}}))
    with pytest.raises(TaskError, match=r"data.source: .*unknown sample"):
        create_task(parse_spec({"data": {"source": {"type": "sample", "sample": "cifar"}}}))
    _import(autolearn_home, make_learnable_folder, {"a": 30, "b": 30})
    with pytest.raises(TaskError, match=r"model.*unknown"):
        _create(pretrained="resnet9000")
    with pytest.raises(TaskError, match=r"output\.path"):
        create_task(
            parse_spec(
                {
                    "data": {"source": {"type": "dataset", "dataset": "colours"}},
                    "output": {"path": "ftp://host/x"},
                }
            )
        )
    with pytest.raises(TaskError, match=r"base_task: task 99 does not exist"):
        create_task(
            parse_spec(
                {
                    "data": {
                        "source": {"type": "dataset", "dataset": "colours"},
                        "incremental": {"enabled": True, "base_task": 99},
                    }
                }
            )
        )


def test_incremental_base_must_have_a_model(
    autolearn_home: Path, make_learnable_folder: Folder
) -> None:
    _import(autolearn_home, make_learnable_folder, {"a": 30, "b": 30})
    base = _create()
    stop_task(base["id"])
    with pytest.raises(TaskError, match="has no trained model"):
        create_task(
            parse_spec(
                {
                    "data": {
                        "source": {"type": "dataset", "dataset": "colours"},
                        "incremental": {"enabled": True, "base_task": base["id"]},
                    }
                }
            )
        )


def test_imagenet_class_names_start_the_head_and_lower_auto_lr(
    autolearn_home: Path, make_learnable_folder: Folder
) -> None:
    make_learnable_folder(autolearn_home / "insects", {"ants": 80, "bees": 80})
    import_dataset(autolearn_home / "insects", name="insects")
    spec = {
        "data": {"source": {"type": "dataset", "dataset": "insects"}},
        "model": {"preference": "speed"},
    }
    task = create_task(parse_spec(spec))
    assert task["plan"]["imagenet_rows"] == [310, 309]
    assert task["plan"]["lr"] == pytest.approx(1e-3 / 3)
    assert any(a["code"] == "imagenet_head" and a["applied"] for a in task["advice"])
    spec["model"]["hyperparams"] = {"lr": 0.002}
    assert create_task(parse_spec(spec))["plan"]["lr"] == 0.002


def test_import_health_findings_become_task_advice(
    autolearn_home: Path, make_learnable_folder: Folder
) -> None:
    root = make_learnable_folder(autolearn_home / "skewed", {"a": 200, "b": 12})
    version = import_dataset(root, name="skewed")
    codes = {f["code"] for f in version.report["health"]}
    assert "class_imbalance" in codes
    task = create_task(parse_spec({"data": {"source": {"type": "dataset", "dataset": "skewed"}}}))
    advice = {a["code"]: a for a in task["advice"]}
    assert "class_imbalance" in advice and "16.7" in advice["class_imbalance"]["message"]
    assert "few_images" in advice  # the task's own rule, on its own split
