"""The REST face of tasks: the same service as the CLI, JSON errors with codes, the
OpenAPI schema, health and Prometheus metrics."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from autolearn.datasets.service import import_dataset


@pytest.fixture
def colours(autolearn_home: Path, make_learnable_folder: Callable[..., Path]) -> str:
    import_dataset(make_learnable_folder(autolearn_home / "colours", {"red": 30, "blue": 30}))
    return "colours"


def _spec(dataset: str, **model: object) -> dict:
    return {
        "basic": {"name": "api"},
        "data": {"source": {"type": "dataset", "dataset": dataset}},
        "model": {"pretrained": "test_tiny", **model},
    }


def test_create_list_show_stop_resume(client: TestClient, colours: str) -> None:
    created = client.post("/api/v1/tasks", json=_spec(colours))
    assert created.status_code == 201, created.text
    task = created.json()
    assert task["status"] == "QUEUED" and task["plan"]["classes"] == ["blue", "red"]
    for _ in range(2):
        assert client.post("/api/v1/tasks", json=_spec(colours)).status_code == 201
    page = client.get("/api/v1/tasks", params={"limit": 2, "offset": 1}).json()
    assert [t["id"] for t in page["items"]] == [2, 1]
    queued = client.get("/api/v1/tasks", params={"status": "queued"}).json()["items"]
    assert len(queued) == 3
    shown = client.get(f"/api/v1/tasks/{task['id']}").json()
    assert shown["id"] == task["id"] and shown["report"] is None
    stopped = client.post(f"/api/v1/tasks/{task['id']}/stop").json()
    assert stopped["status"] == "STOPPED"
    again = client.post(f"/api/v1/tasks/{task['id']}/stop")
    assert again.status_code == 409 and again.json()["error"]["code"] == "task_state_conflict"
    assert client.post(f"/api/v1/tasks/{task['id']}/resume").json()["status"] == "QUEUED"
    events = client.get(f"/api/v1/tasks/{task['id']}/events", params={"kind": "status"}).json()
    assert [e["data"]["status"] for e in events] == ["QUEUED", "STOPPED", "QUEUED"]
    assert any("resume" in line["message"] for line in client.get("/api/v1/tasks/1/logs").json())


def test_invalid_bodies_get_422_naming_the_field(client: TestClient, colours: str) -> None:
    bad = _spec(colours, hyperparams={"lr": -1})
    bad["model"]["prefrence"] = "fast"
    response = client.post("/api/v1/tasks", json=bad)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    fields = {f["field"]: f["message"] for f in error["fields"]}
    assert "model.hyperparams.lr" in fields and "model.prefrence" in fields
    assert "'auto'" in fields["model.hyperparams.lr"]
    missing = client.post("/api/v1/tasks", json=_spec("nope"))
    assert missing.status_code == 422 and missing.json()["error"]["code"] == "invalid_task"
    assert "data.source" in missing.json()["error"]["message"]
    bad_status = client.get("/api/v1/tasks", params={"status": "sleeping"})
    assert bad_status.status_code == 422 and "QUEUED" in bad_status.json()["error"]["message"]


def test_unknown_task_is_404_everywhere(client: TestClient) -> None:
    for method, path in [
        ("get", "/api/v1/tasks/99"),
        ("post", "/api/v1/tasks/99/stop"),
        ("post", "/api/v1/tasks/99/resume"),
        ("get", "/api/v1/tasks/99/events"),
        ("get", "/api/v1/tasks/99/logs"),
    ]:
        response = getattr(client, method)(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "task_not_found"
        assert "99" in response.json()["error"]["message"]


def test_openapi_health_and_metrics(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "/api/v1/tasks" in schema["paths"] and "/api/v1/tasks/{task_id}/stop" in schema["paths"]
    assert "TaskSpec" in schema["components"]["schemas"]
    assert client.get("/healthz").json() == {"status": "ok"}
    client.get("/api/v1/tasks/12345")
    text = client.get("/metrics").text
    assert 'route="/api/v1/tasks/{task_id}"' in text and 'status="404"' in text
    assert "autolearn_http_request_seconds_bucket" in text
