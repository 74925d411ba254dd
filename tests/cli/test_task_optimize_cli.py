"""``autolearn task optimize`` and ``autolearn task export``: embedded, and the same
commands through a live server (``--server``), which runs the optimisation in the
background and the CLI follows it to the final report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import onnx
import pytest
from typer.testing import CliRunner

from autolearn.cli.main import app

runner = CliRunner()
pytestmark = pytest.mark.slow


def _cli(*args: str, remote: tuple[str, str] | None = None) -> Any:
    prefix = ["--server", remote[0], "--token", remote[1]] if remote else []
    return runner.invoke(app, [*prefix, *args])


def _check_export(folder: Path, task_id: int, remote: tuple[str, str] | None = None) -> None:
    done = _cli("task", "export", str(task_id), "--out", str(folder), "--json", remote=remote)
    assert done.exit_code == 0, done.output
    paths = json.loads(done.stdout)
    graph = onnx.load(paths["path"])
    assert any(p.key == "autolearn" for p in graph.metadata_props)
    card = json.loads(Path(paths["card"]).read_text())
    assert card["task_id"] == task_id and card["dataset"]["content_hash"]


def test_optimize_and_export_embedded(finished_task: dict[str, Any], tmp_path: Path) -> None:
    task_id = str(finished_task["id"])
    shown = _cli("task", "optimize", task_id, "--level", "NO_LOSS")
    assert shown.exit_code == 0, shown.output
    assert "cpu-no_loss" in shown.output and "ready" in shown.output
    assert "throughput, batch 32" in shown.output and "onnxruntime-cpu" in shown.output
    refused = _cli("task", "optimize", task_id, "--level", "FP16")
    assert refused.exit_code == 2 and "for the CPU choose NO_LOSS" in refused.output
    _check_export(tmp_path, finished_task["id"])
    unknown = _cli("task", "export", task_id, "--format", "pickle", "--out", str(tmp_path))
    assert unknown.exit_code == 2 and "choose onnx or torchscript" in unknown.output


def test_optimize_and_export_through_a_server(
    live_server: tuple[str, str],
    finished_task: dict[str, Any],
    tmp_path: Path,
) -> None:
    task_id = str(finished_task["id"])
    done = _cli("task", "optimize", task_id, "--json", remote=live_server)
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert report["profile"] == "cpu-int8" and report["status"] == "ready"
    assert report["gate"]["accepted"]
    _check_export(tmp_path, finished_task["id"], remote=live_server)
