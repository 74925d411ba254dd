"""The command line: flags and files become the TaskSpec; --json for scripts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autolearn.cli.main import app

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture
def colours(autolearn_home: Path, make_learnable_folder: Callable[..., Path]) -> Path:
    return make_learnable_folder(autolearn_home / "colours", {"red": 30, "blue": 30})


def test_dataset_import_list_show_json(colours: Path) -> None:
    code, out = invoke("dataset", "import", str(colours), "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["ref"] == "colours:v1" and data["classes"] == ["blue", "red"]
    code, out = invoke("dataset", "list", "--json")
    assert json.loads(out)[0]["latest"] == "colours:v1"
    code, out = invoke("dataset", "show", "colours:v1", "--json")
    assert json.loads(out)["num_images"] == 60
    code, out = invoke("dataset", "show", "nothing")
    assert code == 2 and "error:" in out


def test_task_create_from_flags_queues_with_plan_and_advice(colours: Path) -> None:
    invoke("dataset", "import", str(colours))
    code, out = invoke(
        "task",
        "create",
        "--dataset",
        "colours",
        "--name",
        "flags",
        "--preference",
        "speed",
        "--target-accuracy",
        "0.9",
        "--max-duration",
        "5m",
        "--epochs",
        "4",
        "--lr",
        "auto",
        "--batch-size",
        "8",
        "--warmup",
        "0.5",
        "--no-start-worker",
        "--json",
    )
    assert code == 0, out
    task = json.loads(out)
    assert task["status"] == "QUEUED" and task["name"] == "flags"
    spec = task["spec"]
    assert spec["model"]["expected_accuracy"] == 0.9 and spec["model"]["max_duration"] == 300
    assert spec["model"]["hyperparams"] == {
        "epochs": 4,
        "lr": "auto",
        "batch_size": 8,
        "warmup": 0.5,
    }
    assert task["plan"]["epochs"] == 4 and task["plan"]["batch_size"] == 8
    assert {a["code"] for a in task["advice"]} >= {"small_data_lr"}

    code, out = invoke("task", "list", "--json")
    assert [t["id"] for t in json.loads(out)] == [task["id"]]
    code, out = invoke("task", "show", str(task["id"]), "--json")
    shown = json.loads(out)
    assert shown["advice"] == task["advice"] and shown["report"] is None
    code, out = invoke("task", "stop", str(task["id"]), "--json")
    assert json.loads(out)["status"] == "STOPPED"
    code, out = invoke("task", "logs", str(task["id"]))
    assert "advice:" in out


def test_task_file_with_flag_overrides(colours: Path, tmp_path: Path) -> None:
    invoke("dataset", "import", str(colours))
    path = tmp_path / "task.yaml"
    path.write_text(
        "basic: {name: from-file}\ndata:\n  source: {type: dataset, dataset: colours}\n"
        "model: {preference: accuracy, hyperparams: {epochs: 7}}\n"
    )
    code, out = invoke(
        "task", "create", "-f", str(path), "--epochs", "2", "--no-start-worker", "--json"
    )
    assert code == 0, out
    task = json.loads(out)
    assert task["name"] == "from-file" and task["plan"]["epochs"] == 2
    assert task["plan"]["model"] == "tf_efficientnet_lite2.in1k"


def test_invalid_flags_name_the_field(colours: Path) -> None:
    code, out = invoke("task", "create", "--dataset", "colours", "--lr", "-3", "--no-start-worker")
    assert code == 2 and "model.hyperparams.lr" in out and "greater than 0" in out
    code, out = invoke("task", "create", "--no-start-worker")
    assert code != 0 and "--dataset" in out
    code, out = invoke("task", "show", "42")
    assert code == 2 and "task 42 does not exist" in out


def test_models_lists_the_zoo() -> None:
    code, out = invoke("models", "--json")
    names = {m["name"] for m in json.loads(out)}
    assert "tf_efficientnet_lite0.in1k" in names and code == 0


def test_help_does_not_import_torch() -> None:
    code = "import sys, autolearn.cli.main; print('torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


@pytest.mark.slow
def test_sample_digits_reaches_the_target_from_one_command(autolearn_home: Path) -> None:
    """The issue's first must-show, through a real detached queue worker."""
    env = {**os.environ, "AUTOLEARN_WORKER_IDLE_EXIT_S": "1"}
    cmd = [
        sys.executable,
        "-m",
        "autolearn.cli.main",
        "task",
        "create",
        "--sample",
        "digits",
        "--target-accuracy",
        "0.9",
        "--max-duration",
        "10m",
        "--wait",
        "--json",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    task = json.loads(proc.stdout)
    assert task["status"] == "SUCCEED" and task["stop_reason"] == "target_reached"
    assert task["metrics"]["accuracy"] >= 0.9
    assert task["report"]["confusion_matrix"] and len(task["report"]["per_class"]) == 10
    assert task["advice"] is not None and task["plan"]["classes"] == [str(i) for i in range(10)]


@pytest.mark.slow
def test_tableware_sample_trains_a_detector_from_one_command(autolearn_home: Path) -> None:
    """Detection through the same command, queue and worker: mAP, per-class AP, and the
    per-class score thresholds stored with the model."""
    env = {**os.environ, "AUTOLEARN_WORKER_IDLE_EXIT_S": "1"}
    cmd = [sys.executable, "-m", "autolearn.cli.main", "task", "create", "--scenario"]
    cmd += ["tableware", "--sample", "tableware", "--preference", "speed", "--epochs", "3"]
    cmd += ["--max-duration", "10m", "--wait", "--json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    task = json.loads(proc.stdout)
    assert task["status"] == "SUCCEED" and task["scenario"] == "tableware"
    assert task["metric"] == "map_50" and task["metrics"]["map_50"] > 0.2  # untrained: < 0.05
    report = task["report"]
    assert [r["class"] for r in report["per_class"]] == task["plan"]["classes"]
    assert set(task["plan"]["classes"]) == {"bowl", "cup", "plate", "saucer"}
    thresholds = report["score_thresholds"]
    assert set(thresholds) == {"bowl", "cup", "plate", "saucer"}
    assert all(0 < t <= 1 for t in thresholds.values())
    from autolearn.training.runner import load_model_file

    meta = load_model_file(task["model_uri"])["meta"]
    assert meta["score_thresholds"] == thresholds and meta["arch"] == task["plan"]["arch"]
    code, out = invoke("task", "show", str(task["id"]))
    assert code == 0 and "AP@0.5" in out and "threshold" in out


def test_dataset_export_split_samples_formats(colours: Path, tmp_path: Path) -> None:
    invoke("dataset", "import", str(colours))
    code, out = invoke(
        "dataset", "export", "colours", str(tmp_path / "out"), "--format", "csv", "--json"
    )
    assert code == 0, out
    assert json.loads(out)["images"] == 60 and (tmp_path / "out" / "labels.csv").is_file()
    code, out = invoke("dataset", "split", "colours", "--val-percent", "25", "--json")
    assert code == 0, out
    split = json.loads(out)
    assert split["ref"] == "colours:v2" and split["has_fixed_val"]
    assert split["changes"]["images_moved_split"] == 60
    code, out = invoke("dataset", "samples", "--json")
    assert {s["name"] for s in json.loads(out)} >= {"digits", "tableware"}
    code, out = invoke("dataset", "formats", "--json")
    assert {"coco", "voc", "yolo", "cvat_yolo", "csv", "labelstudio", "imagefolder"} <= {
        f["name"] for f in json.loads(out)
    }


def test_refused_import_prints_the_report_and_lenient_skips(colours: Path) -> None:
    (colours / "red" / "broken.png").write_bytes(b"not an image")
    code, out = invoke("dataset", "import", str(colours), "--json")
    assert code == 2
    refused = json.loads(out)
    assert "strict policy refuses" in refused["error"]
    assert refused["report"]["code_counts"] == {"not_an_image": 1}
    code, out = invoke("dataset", "list", "--json")
    assert json.loads(out) == []  # nothing half-imported
    code, out = invoke("dataset", "import", str(colours), "--policy", "lenient", "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["num_images"] == 60
    skipped = [p for p in data["report"]["problems"] if p["code"] == "not_an_image"]
    assert skipped and skipped[0]["file"] == "red/broken.png"
