"""The REST face of tasks: the same service as the CLI, JSON errors with codes, the
OpenAPI schema, health and Prometheus metrics; list filters and sorting, live progress
over Server-Sent Events, copy and delete."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from autolearn.api.routes import tasks as task_routes
from autolearn.datasets.service import import_dataset
from autolearn.db import Task, TaskEvent, TaskLog, session_scope


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
        ("get", "/api/v1/tasks/99/progress"),
        ("post", "/api/v1/tasks/99/copy"),
        ("delete", "/api/v1/tasks/99"),
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


# ----------------------------------------------------------------- helpers for the rest


def _set(task_id: int, **fields: Any) -> None:
    """Change a task's row as the worker would (status, metrics, ...)."""
    with session_scope() as s:
        task = s.get(Task, task_id)
        assert task is not None
        for key, value in fields.items():
            setattr(task, key, value)


def _event(task_id: int, kind: str, epoch: int | None = None, **data: Any) -> int:
    """Write one progress event as the worker's reporter does; returns its id."""
    with session_scope() as s:
        event = TaskEvent(task_id=task_id, kind=kind, epoch=epoch, data=data)
        s.add(event)
        s.flush()
        return event.id


def _messages(body: str) -> list[dict[str, str]]:
    """SSE messages as dicts of their fields; a comment becomes {"comment": text}."""
    out = []
    for block in body.strip().split("\n\n"):
        message: dict[str, str] = {}
        for line in block.splitlines():
            field, _, value = line.partition(":")
            message[field or "comment"] = value.strip()
        out.append(message)
    return out


def _stream(client: TestClient, task_id: int, **kwargs: Any) -> list[dict[str, str]]:
    with client.stream("GET", f"/api/v1/tasks/{task_id}/progress", **kwargs) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        return _messages(response.read().decode())


def _events(messages: list[dict[str, str]]) -> list[tuple[int, str]]:
    return [(int(m["id"]), m["event"]) for m in messages if "id" in m]


# ------------------------------------------------------------------------ list


@pytest.fixture
def four_tasks(
    client: TestClient, autolearn_home: Path, make_learnable_folder: Callable[..., Path]
) -> dict[str, int]:
    """Tasks on two datasets, in several states, two with a metric value."""
    for name in ("colours", "shapes"):
        import_dataset(make_learnable_folder(autolearn_home / name, {"a": 6, "b": 6}), name=name)
    ids = {}
    for name, dataset in [
        ("Alpha one", "colours"),
        ("beta_two", "colours"),
        ("gamma", "colours"),
        ("delta", "shapes"),
    ]:
        body = _spec(dataset)
        body["basic"]["name"] = name
        ids[name] = client.post("/api/v1/tasks", json=body).json()["id"]
    _set(ids["Alpha one"], status="SUCCEED", metrics={"accuracy": 0.7, "best_epoch": 1})
    _set(ids["beta_two"], status="SUCCEED", metrics={"accuracy": 0.9, "best_epoch": 2})
    _set(ids["gamma"], status="FAILED")
    _set(ids["delta"], scenario="tableware")  # the filter reads the column, not the plan
    return ids


def test_list_filters_sorts_and_counts(client: TestClient, four_tasks: dict[str, int]) -> None:
    ids = four_tasks

    def names(**params: Any) -> list[str]:
        page = client.get("/api/v1/tasks", params=params)
        assert page.status_code == 200, page.text
        return [t["name"] for t in page.json()["items"]]

    everything = client.get("/api/v1/tasks").json()
    assert everything["total"] == 4 and everything["sort"] == "-created"
    assert [t["id"] for t in everything["items"]] == sorted(ids.values(), reverse=True)
    page = client.get("/api/v1/tasks", params={"limit": 2, "offset": 1}).json()
    assert len(page["items"]) == 2 and page["total"] == 4
    assert sorted(names(status="succeed,FAILED")) == ["Alpha one", "beta_two", "gamma"]
    assert names(name="ALPHA") == ["Alpha one"]
    assert names(name="_") == ["beta_two"]  # an underscore is not a wildcard
    assert names(dataset="shapes") == ["delta"]
    assert len(names(dataset="colours:v1")) == 3 and names(dataset="colours:v9") == []
    assert names(scenario="tableware") == ["delta"]
    assert names(scenario="classification", status="SUCCEED", name="a") == ["beta_two", "Alpha one"]
    assert names(sort="name") == ["Alpha one", "beta_two", "delta", "gamma"]
    assert names(sort="-name") == ["gamma", "delta", "beta_two", "Alpha one"]
    assert names(sort="status") == ["gamma", "delta", "beta_two", "Alpha one"]
    # each task's own metric; those without one last either way (newest first among them)
    assert names(sort="-metric") == ["beta_two", "Alpha one", "delta", "gamma"]
    assert names(sort="metric") == ["Alpha one", "beta_two", "delta", "gamma"]
    assert names(sort="created")[0] == "Alpha one"


def test_list_refuses_unknown_sort_and_filters(client: TestClient) -> None:
    bad_sort = client.get("/api/v1/tasks", params={"sort": "size"})
    assert bad_sort.status_code == 422
    error = bad_sort.json()["error"]
    assert error["fields"][0]["field"] == "sort" and "'-metric'" in error["message"]
    bad_scenario = client.get("/api/v1/tasks", params={"scenario": "audio"})
    assert bad_scenario.status_code == 422 and "classification" in bad_scenario.text
    bad_status = client.get("/api/v1/tasks", params={"status": "RUNNING,asleep"})
    assert bad_status.status_code == 422 and "SUCCEED" in bad_status.json()["error"]["message"]


# -------------------------------------------------------------------- progress


def test_progress_streams_the_events_and_ends_after_the_task(
    client: TestClient, colours: str
) -> None:
    task_id = client.post("/api/v1/tasks", json=_spec(colours)).json()["id"]
    _event(task_id, "epoch", epoch=1, accuracy=0.5)
    _event(task_id, "step", epoch=1)
    client.post(f"/api/v1/tasks/{task_id}/stop")
    stored = [(e["id"], e["kind"]) for e in client.get(f"/api/v1/tasks/{task_id}/events").json()]
    assert [k for _, k in stored] == ["status", "epoch", "step", "status"]

    messages = _stream(client, task_id)
    assert messages[0] == {"retry": "2000"}
    assert _events(messages) == stored
    epoch = next(m for m in messages if m.get("event") == "epoch")
    assert json.loads(epoch["data"])["data"] == {"accuracy": 0.5}
    assert messages[-1]["event"] == "end"
    assert json.loads(messages[-1]["data"])["status"] == "STOPPED"

    second = str(stored[1][0])
    resumed = _stream(client, task_id, headers={"Last-Event-ID": second})
    assert _events(resumed) == stored[2:] and resumed[-1]["event"] == "end"
    assert _events(_stream(client, task_id, params={"after_id": second})) == stored[2:]
    # a reconnect's Last-Event-ID wins over the after_id of the original URL
    both = _stream(client, task_id, params={"after_id": 0}, headers={"Last-Event-ID": second})
    assert _events(both) == stored[2:]


def test_progress_follows_a_running_task_until_it_ends(
    client: TestClient, colours: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between polls the 'worker' moves the task on: the stream passes on each new event
    once, keeps an idle stream alive, and ends with the final status."""
    task_id = client.post("/api/v1/tasks", json=_spec(colours)).json()["id"]
    script = [
        lambda: (_set(task_id, status="RUNNING"), _event(task_id, "status", status="RUNNING")),
        lambda: _event(task_id, "epoch", epoch=1, accuracy=0.8),
        lambda: None,  # a poll with nothing new
        lambda: (_set(task_id, status="SUCCEED"), _event(task_id, "status", status="SUCCEED")),
    ]
    polls: list[float] = []

    async def next_step(seconds: float) -> None:
        polls.append(seconds)
        script[len(polls) - 1]()

    monkeypatch.setattr(task_routes, "_pause", next_step)
    monkeypatch.setattr(task_routes, "KEEPALIVE_S", 0.0)
    messages = _stream(client, task_id)
    assert len(polls) == len(script) and set(polls) == {task_routes.POLL_S}
    kinds = [
        (m["event"], json.loads(m["data"])["data"].get("status")) for m in messages if "id" in m
    ]
    assert kinds == [
        ("status", "QUEUED"),
        ("status", "RUNNING"),
        ("epoch", None),
        ("status", "SUCCEED"),
    ]
    assert {"comment": "keep-alive"} in messages
    assert (
        messages[-1]["event"] == "end" and json.loads(messages[-1]["data"])["status"] == "SUCCEED"
    )


def test_progress_of_a_task_deleted_while_watched_ends(
    client: TestClient, colours: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from autolearn.tasks.lifecycle import delete_task

    task_id = client.post("/api/v1/tasks", json=_spec(colours)).json()["id"]

    async def delete_it(seconds: float) -> None:
        _set(task_id, status="FAILED")
        delete_task(task_id)

    monkeypatch.setattr(task_routes, "_pause", delete_it)
    messages = _stream(client, task_id)
    assert json.loads(messages[-1]["data"]) == {"task_id": task_id, "status": None, "deleted": True}


def test_progress_needs_a_visible_task(
    as_user: Callable[[str | None], TestClient], colours: str
) -> None:
    root, alice = as_user("root"), as_user("alice")
    task_id = root.post("/api/v1/tasks", json=_spec(colours)).json()["id"]
    assert alice.get(f"/api/v1/tasks/{task_id}/progress").status_code == 404
    assert as_user(None).get(f"/api/v1/tasks/{task_id}/progress").status_code == 401
    bad = root.get(f"/api/v1/tasks/{task_id}/progress", headers={"Last-Event-ID": "x"})
    assert bad.status_code == 422


# ---------------------------------------------------------------- copy and delete


def test_copy_queues_a_new_task_owned_by_the_caller(
    as_user: Callable[[str | None], TestClient], colours: str, autolearn_home: Path
) -> None:
    alice, root = as_user("alice"), as_user("root")
    body = _spec(colours, hyperparams={"epochs": 3})
    body["output"] = {"path": (autolearn_home / "alice-out").as_uri()}
    original = alice.post("/api/v1/tasks", json=body).json()
    alice.post(f"/api/v1/tasks/{original['id']}/stop")

    copied = alice.post(
        f"/api/v1/tasks/{original['id']}/copy",
        json={"name": "again", "overrides": {"model": {"hyperparams": {"epochs": 2}}}},
    )
    assert copied.status_code == 201, copied.text
    task = copied.json()
    assert task["id"] != original["id"] and task["status"] == "QUEUED"
    assert task["name"] == "again" and task["owner_id"] == original["owner_id"]
    assert task["plan"]["epochs"] == 2
    assert task["dataset"] == original["dataset"] == "colours:v1"  # the same pinned version
    assert task["output_uri"] != original["output_uri"]  # never two runs in one folder
    assert task["spec"]["output"]["path"] is None

    plain = alice.post(f"/api/v1/tasks/{original['id']}/copy")
    assert plain.status_code == 201 and plain.json()["name"] == "api-copy"
    assert plain.json()["plan"]["epochs"] == 3
    by_admin = root.post(f"/api/v1/tasks/{original['id']}/copy", json={})
    assert by_admin.status_code == 201 and by_admin.json()["owner_id"] != original["owner_id"]

    bad = alice.post(
        f"/api/v1/tasks/{original['id']}/copy",
        json={"overrides": {"model": {"hyperparams": {"lr": -1}}}},
    )
    assert bad.status_code == 422 and "model.hyperparams.lr" in bad.json()["error"]["message"]


def test_delete_removes_a_finished_task_with_its_folder(
    client: TestClient, colours: str, autolearn_home: Path
) -> None:
    from autolearn.storage import open_store

    task = client.post("/api/v1/tasks", json=_spec(colours)).json()
    task_id = task["id"]
    active = client.delete(f"/api/v1/tasks/{task_id}")
    assert active.status_code == 409 and active.json()["error"]["code"] == "task_state_conflict"
    assert "stop it first" in active.json()["error"]["message"]
    client.post(f"/api/v1/tasks/{task_id}/stop")
    folder = open_store(task["output_uri"])
    assert folder.list() == ["plan.json", "spec.json"]

    deleted = client.delete(f"/api/v1/tasks/{task_id}")
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {
        "id": task_id,
        "name": "api",
        "deleted": True,
        "output_uri": task["output_uri"],
        "removed_objects": 2,
    }
    assert folder.list() == []
    assert client.get(f"/api/v1/tasks/{task_id}").status_code == 404
    with session_scope() as s:
        for table in (TaskEvent, TaskLog):
            assert s.scalars(select(table).where(table.task_id == task_id)).all() == []
    assert client.delete(f"/api/v1/tasks/{task_id}").status_code == 404


def test_delete_leaves_the_rest_of_a_chosen_output_folder(
    client: TestClient, colours: str, autolearn_home: Path
) -> None:
    out = autolearn_home / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("not the task's")
    body = _spec(colours)
    body["output"] = {"path": out.as_uri()}
    task_id = client.post("/api/v1/tasks", json=body).json()["id"]
    client.post(f"/api/v1/tasks/{task_id}/stop")
    assert client.delete(f"/api/v1/tasks/{task_id}").json()["removed_objects"] == 2
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_create_warns_when_no_worker_serves_the_region(client: TestClient, colours: str) -> None:
    from autolearn.db import Worker, session_scope
    from autolearn.scheduler.queue import HOST

    spec = _spec(colours)
    spec["basic"] = {"name": "far", "region": "gpu-pool"}
    far = client.post("/api/v1/tasks", json=spec).json()
    assert far["status"] == "QUEUED" and "'gpu-pool'" in far["warnings"][0]
    with session_scope() as s:  # a live queue worker of this host for region local
        s.add(Worker(host=HOST, pid=os.getpid(), region="local"))
    near = client.post("/api/v1/tasks", json=_spec(colours)).json()
    assert near["region"] == "local" and near["warnings"] == []


def test_preview_plans_without_queueing(client: TestClient, colours: str) -> None:
    preview = client.post("/api/v1/tasks/preview", json=_spec(colours))
    assert preview.status_code == 200
    body = preview.json()
    assert body["dataset"] == "colours:v1" and body["plan"]["epochs"] >= 1
    assert isinstance(body["advice"], list) and isinstance(body["warnings"], list)
    assert client.get("/api/v1/tasks").json()["total"] == 0  # nothing was created
    bad = _spec(colours, hyperparams={"lr": -1})
    refused = client.post("/api/v1/tasks/preview", json=bad)
    assert refused.status_code == 422
    assert refused.json()["error"]["fields"][0]["field"] == "model.hyperparams.lr"
