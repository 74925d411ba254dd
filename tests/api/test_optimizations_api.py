"""``/api/v1/models/{task_id}/optimizations`` and ``/export``: an optimisation started over
HTTP runs in the background to a final report; exports download as files a consumer can
load (ONNX with its metadata, the model card); profiles the server cannot run are refused
at once with a code; another member's model does not exist for the caller."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from typing import Any

import onnx
import pytest
import torch
from fastapi.testclient import TestClient
from tests.api.test_models_api import colours, finish_with_model  # noqa: F401 (fixture)

pytestmark = pytest.mark.slow


@pytest.fixture
def done(client: TestClient, colours: str) -> dict[str, Any]:  # noqa: F811
    spec = {
        "basic": {"name": "api model"},
        "data": {"source": {"type": "dataset", "dataset": colours}},
        "model": {"pretrained": "test_tiny"},
    }
    task = client.post("/api/v1/tasks", json=spec).json()
    finish_with_model(task)  # a classifier that answers "red" on any image
    return task


def _wait(client: TestClient, url: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = client.get(url)
        if answer.status_code == 200 and answer.json()["status"] != "running":
            return dict(answer.json())
        time.sleep(0.3)
    raise AssertionError(f"{url} still running after {timeout} s")


def test_optimise_over_http_to_a_final_report(client: TestClient, done: dict[str, Any]) -> None:
    base = f"/api/v1/models/{done['id']}/optimizations"
    started = client.post(base, json={"target": "cpu", "level": "INT8"})
    assert started.status_code == 202, started.text
    assert started.json() == {"task_id": done["id"], "profile": "cpu-int8", "status": "running"}
    report = _wait(client, f"{base}/cpu-int8")
    # the stand-in model answers "red" everywhere: half the validation set, before and after
    assert report["status"] == "ready", report["message"]
    assert report["gate"]["before"] == pytest.approx(report["gate"]["after"])
    assert report["after"]["engine"] == "onnxruntime-cpu"
    listed = client.get(base).json()["optimizations"]
    assert [r["profile"] for r in listed] == ["cpu-int8"]


def test_profiles_the_server_cannot_run_are_refused_at_once(
    client: TestClient, done: dict[str, Any]
) -> None:
    base = f"/api/v1/models/{done['id']}/optimizations"
    answer = client.post(base, json={"target": "cpu", "level": "FP16"})
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "profile_unavailable"
    assert "NO_LOSS" in answer.json()["error"]["message"]
    if not torch.cuda.is_available():
        answer = client.post(base, json={"target": "gpu-t4", "level": "FP16"})
        assert answer.json()["error"]["code"] == "profile_unavailable"
    assert client.get(f"{base}/cpu-int8").json()["error"]["code"] == "model_not_found"


def test_exports_download_as_loadable_files(client: TestClient, done: dict[str, Any]) -> None:
    base = f"/api/v1/models/{done['id']}/export"
    answer = client.get(f"{base}/onnx")
    assert answer.status_code == 200
    assert "model.onnx" in answer.headers["content-disposition"]
    graph = onnx.load_model_from_string(answer.content)
    props = {p.key: p.value for p in graph.metadata_props}
    assert json.loads(props["labels"]) == done["plan"]["classes"]
    script = client.get(f"{base}/torchscript")
    assert script.status_code == 200
    extra = {"meta.json": ""}
    torch.jit.load(io.BytesIO(script.content), _extra_files=extra)
    assert json.loads(extra["meta.json"])["classes"] == done["plan"]["classes"]
    card = client.get(f"{base}/card").json()
    assert card["dataset"]["ref"] == "colours:v1" and len(card["dataset"]["content_hash"]) == 64
    assert card["spec"]["model"]["pretrained"] == "test_tiny"
    assert card["libraries"]["torch"]
    assert client.get(f"{base}/pickle").status_code == 422


def test_another_members_model_is_not_there(
    as_user: Callable[[str | None], TestClient],
    colours: str,  # noqa: F811
) -> None:
    bob, alice = as_user("bob"), as_user("alice")
    spec = {
        "basic": {"name": "bobs model"},
        "data": {"source": {"type": "dataset", "dataset": colours}},
        "model": {"pretrained": "test_tiny"},
    }
    task = bob.post("/api/v1/tasks", json=spec).json()
    assert "plan" in task, task
    finish_with_model(task)
    assert alice.post(f"/api/v1/models/{task['id']}/optimizations", json={}).status_code == 404
    assert alice.get(f"/api/v1/models/{task['id']}/export/onnx").status_code == 404
