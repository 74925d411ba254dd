"""``autolearn model …``, ``autolearn service …`` and ``autolearn predict --model``: on
the embedded database, and the same commands through a live server (``--server``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner

from autolearn.cli.main import app
from model_fixtures import FORMATS, add_onnx_profile

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("clean_services")


def _cli(*args: str, remote: tuple[str, str] | None = None, input: str | None = None) -> Any:
    prefix = ["--server", remote[0], "--token", remote[1]] if remote else []
    return runner.invoke(app, [*prefix, *args], input=input)


def _json(*args: str, remote: tuple[str, str] | None = None) -> Any:
    result = _cli(*args, "--json", remote=remote)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_model_commands_embedded(finished_task: dict[str, Any], tmp_path: Path) -> None:
    made = _json("model", "publish", str(finished_task["id"]), "--name", "colours")
    assert made["ref"] == "colours:v1" and made["status"] == "ready"
    shown = _cli("model", "publish", str(finished_task["id"]), "--name", "colours")
    assert shown.exit_code == 0 and "published colours:v2" in shown.output
    listed = _cli("model", "list")
    assert listed.exit_code == 0 and "colours:v1" in listed.output and "colours:v2" in listed.output
    assert _json("model", "list", "--name", "colours")["total"] == 2
    show = _cli("model", "show", "colours:v1")
    assert show.exit_code == 0 and "accuracy 0.7500" in show.output and "colours:v1" in show.output
    saved = _json("model", "download", "colours", "--out", str(tmp_path))
    assert Path(saved["path"]).name == "colours-v2.pt" and saved["size_bytes"] == made["size_bytes"]

    missing = _cli("model", "show", "colours:v9")
    assert missing.exit_code == 2 and "does not exist" in missing.output
    refused = _cli(
        "model", "publish", str(finished_task["id"]), "--name", "x", "--profile", "cpu-int8"
    )
    assert refused.exit_code == 2 and "no optimised model" in refused.output

    service = _json("service", "deploy", "colours:v1", "--name", "svc", "--max-batch", "4")
    in_use = _cli("model", "delete", "colours:v1", "--yes")
    assert in_use.exit_code == 2 and f"service(s) {service['id']}" in in_use.output
    asked = _cli("model", "delete", "colours:v2", input="n\n")
    assert asked.exit_code == 1 and _json("model", "list")["total"] == 2
    assert _json("model", "delete", "colours:v2", "--yes")["deleted"] is True


def test_service_commands_embedded(published_version: dict[str, Any], tmp_path: Path) -> None:
    made = _json("service", "deploy", "colours", "--no-micro-batching", "--queue-size", "8")
    assert made["config"]["micro_batching"] is False and made["config"]["queue_size"] == 8
    sid = str(made["id"])
    listed = _cli("service", "list")
    assert (
        listed.exit_code == 0 and "colours-v1" in listed.output and "no batching" in listed.output
    )
    assert "POST /api/v1/services/" in _cli("service", "show", sid).output
    image = tmp_path / "red.png"
    Image.new("RGB", (30, 20), (200, 30, 30)).save(image)
    predicted = _json("service", "predict", sid, str(image))
    assert predicted["predictions"][0]["label"] == "red" and predicted["width"] == 30
    assert "red" in _cli("service", "predict", sid, str(image)).output
    assert _json("service", "stop", sid)["status"] == "STOPPED"
    stopped = _cli("service", "predict", sid, str(image))
    assert stopped.exit_code == 2 and "STOPPED" in stopped.output
    assert _json("service", "start", sid)["status"] == "RUNNING"
    assert _json("service", "delete", sid, "--yes")["deleted"] is True
    gone = _cli("service", "show", sid)
    assert gone.exit_code == 2 and "does not exist" in gone.output


@pytest.mark.parametrize("fmt", FORMATS)
def test_predict_with_a_published_model_over_a_folder(
    finished_task: dict[str, Any], tmp_path: Path, fmt: str
) -> None:
    if fmt == "onnx":
        add_onnx_profile(finished_task, "cpu-int8")
    profile = "pytorch" if fmt == "pytorch" else "cpu-int8"
    _json("model", "publish", str(finished_task["id"]), "--name", "colours", "--profile", profile)
    folder = tmp_path / "images"
    (folder / "sub").mkdir(parents=True)
    for i in range(10):
        Image.new("RGB", (20 + i, 20), (200, 30, 30)).save(folder / "sub" / f"{i}.png")
    (folder / "broken.png").write_bytes(b"not a png")
    out = tmp_path / "preds.json"
    result = _cli("predict", "--model", "colours:v1", str(folder), "--out", str(out), "--json")
    assert result.exit_code == 1  # one unreadable file: reported, the others predicted
    results = json.loads(out.read_text())
    assert len(results) == 11
    broken = [r for r in results if "error" in r]
    assert len(broken) == 1 and broken[0]["image"].endswith("broken.png")
    good = [r for r in results if "error" not in r]
    assert all(r["predictions"][0]["label"] == "red" for r in good)
    assert sorted(r["width"] for r in good) == list(range(20, 30))
    table = _cli("predict", "--model", "colours", str(folder / "sub" / "0.png"))
    assert table.exit_code == 0 and "red" in table.output and "1 image(s)" in table.output


def test_predict_arguments_are_checked(published_version: dict[str, Any], tmp_path: Path) -> None:
    image = tmp_path / "x.png"
    Image.new("RGB", (8, 8)).save(image)
    not_id = _cli("predict", str(image))
    assert not_id.exit_code == 2 and "not a task id" in not_id.output
    unknown = _cli("predict", "--model", "nothing:v1", str(image))
    assert unknown.exit_code == 2 and "does not exist" in unknown.output


def test_the_same_commands_through_a_server(
    live_server: tuple[str, str], finished_task: dict[str, Any], tmp_path: Path
) -> None:
    remote = live_server
    made = _json("model", "publish", str(finished_task["id"]), "--name", "colours", remote=remote)
    assert made["ref"] == "colours:v1"
    assert _json("model", "show", "colours", remote=remote)["id"] == made["id"]
    assert "colours:v1" in _cli("model", "list", remote=remote).output
    saved = _json("model", "download", "colours:v1", "--out", str(tmp_path), remote=remote)
    assert Path(saved["path"]).stat().st_size == made["size_bytes"]
    service = _json("service", "deploy", "colours:v1", remote=remote)
    image = tmp_path / "red.png"
    Image.new("RGB", (30, 20), (200, 30, 30)).save(image)
    answer = _json("service", "predict", str(service["id"]), str(image), remote=remote)
    assert answer["predictions"][0]["label"] == "red" and answer["model"] == "colours:v1"
    predicted = _cli("predict", "--model", "colours:v1", str(image), "--json", remote=remote)
    assert predicted.exit_code == 0 and json.loads(predicted.stdout)[0]["width"] == 30
    in_use = _cli("model", "delete", "colours:v1", "--yes", remote=remote)
    assert in_use.exit_code == 2 and "service(s)" in in_use.output
    assert _json("service", "delete", str(service["id"]), "--yes", remote=remote)["deleted"]
    assert _json("model", "delete", "colours:v1", "--yes", remote=remote)["deleted"]
