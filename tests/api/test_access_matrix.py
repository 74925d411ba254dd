"""The access-control matrix, over every route of the app (new routes join by
themselves): bob owns a dataset and a task; alice (a member) can neither read, change
nor delete them (403 or 404, and nothing changes); root (an admin) can; an anonymous
caller gets 401 everywhere but /healthz and /metrics."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from autolearn.accounts import Principal
from autolearn.api.routes import tasks as task_routes
from autolearn.datasets.labelling import list_items, open_draft
from autolearn.datasets.service import import_dataset
from autolearn.models.published import publish
from autolearn.serving.services import deploy
from autolearn.storage import open_store
from autolearn.tasks.results import META_KEY, MODEL_KEY, REPORT_KEY, optimized_key
from autolearn.tasks.service import create_task, get_task, parse_spec

PUBLIC = {"/healthz", "/metrics", "/api/v1/account/login"}
# Routes whose path names no resource of bob's: what alice gets is her own view.
OWN_VIEW = re.compile(r"^/api/v1/(account(/.*)?|datasets|tasks|models)$")


def _routes(app: FastAPI) -> list[tuple[str, str]]:
    """(METHOD, path template) of every documented route."""
    paths = app.openapi()["paths"]
    out = [(m.upper(), path) for path, ops in paths.items() for m in ops]
    assert len(out) > 10
    return out


@pytest.fixture
def bobs(
    autolearn_home: Path,
    tokens: dict[str, str],
    make_learnable_folder: Callable[..., Path],
    tiny_spec: Callable[..., dict[str, Any]],
) -> dict[str, str]:
    """bob's dataset, task, labelling draft, published model version and service, made
    through the services as bob."""
    from autolearn.accounts.service import authenticate_token, list_tokens

    bob = authenticate_token(tokens["bob"])
    assert isinstance(bob, Principal)
    folder = make_learnable_folder(autolearn_home / "bobdata", {"a": 6, "b": 6})
    import_dataset(folder, name="bobdata", actor=bob)
    spec = tiny_spec()
    spec["data"]["source"] = {"type": "dataset", "dataset": "bobdata"}
    task = create_task(parse_spec(spec), actor=bob)
    # bob's task holds a model and a report (as a resumed task keeps its earlier ones), so
    # that the admin's GETs of /models/{id}, its download and /evaluations/{id} find them.
    out = open_store(task["output_uri"])
    out.put_json(META_KEY, {"scenario": "classification", "classes": ["a", "b"]})
    out.put_json(REPORT_KEY, {"metrics": {"accuracy": 1.0}})
    out.put_bytes(MODEL_KEY, b"stands in for the weights")
    out.put_json(optimized_key("cpu-int8", "report.json"), {"profile": "cpu-int8", "status": "x"})
    draft = open_draft("bobdata:v1", actor=bob)
    version = publish(task["id"], "bobmodel", actor=bob)  # a copy of the stand-in file
    service = deploy(version["ref"], "bobservice", actor=bob)
    return {
        "task_id": str(task["id"]),
        "name": "bobdata",
        "version": "1",
        "draft_id": draft["id"],
        "sha256": list_items("bobdata:v1", limit=1)["items"][0]["sha256"],
        "user_id": str(bob.user_id),
        "token_id": str(list_tokens(bob.user_id)[0]["id"]),
        "ref": str(version["id"]),
        "service_id": str(service["id"]),
        "profile": "cpu-int8",
        "fmt": "card",
    }


def _fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: values.get(m.group(1), "1"), path)


def _call(client: TestClient, method: str, path: str) -> int:
    return client.request(method, path, json={}).status_code


def test_anonymous_gets_401_everywhere(
    app: FastAPI, as_user: Callable[[str | None], TestClient], bobs: dict[str, str]
) -> None:
    anon = as_user(None)
    for method, path in _routes(app):
        if path in PUBLIC:
            continue
        code = _call(anon, method, _fill(path, bobs))
        assert code == 401, f"{method} {path} answered {code} to an anonymous caller"
        body = anon.request(method, _fill(path, bobs), json={})
        assert body.headers.get("www-authenticate") == "Bearer"


def test_a_member_cannot_touch_another_members_resources(
    app: FastAPI, as_user: Callable[[str | None], TestClient], bobs: dict[str, str]
) -> None:
    alice = as_user("alice")
    before = get_task(int(bobs["task_id"]))
    checked = 0
    for method, path in _routes(app):
        if path in PUBLIC or OWN_VIEW.match(path) or "{" not in path:
            continue
        code = _call(alice, method, _fill(path, bobs))
        assert code in (403, 404), f"alice got {code} from {method} {path} on bob's resource"
        checked += 1
    assert checked >= 8
    after = get_task(int(bobs["task_id"]))
    assert after["status"] == before["status"] == "QUEUED"  # her stop did nothing
    # and bob's things are not in alice's lists
    assert alice.get("/api/v1/tasks").json()["items"] == []
    assert "bobdata" not in [d["name"] for d in alice.get("/api/v1/datasets").json()]
    assert alice.get("/api/v1/model-versions").json()["total"] == 0
    assert alice.get("/api/v1/services").json()["total"] == 0
    assert alice.get("/api/v1/model-versions/bobmodel").status_code == 404  # by name too


def test_an_admin_reaches_everyones_resources(
    app: FastAPI,
    as_user: Callable[[str | None], TestClient],
    bobs: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # bob's task is QUEUED, so its progress stream would run until the time limit: with
    # none, it sends what there is and closes (as a client would reconnect later).
    monkeypatch.setattr(task_routes, "STREAM_MAX_S", 0.0)
    root = as_user("root")
    for method, path in _routes(app):
        if path in PUBLIC or "{" not in path or method != "GET":
            continue
        if "token_id" in path:
            continue  # tokens are personal: nobody lists another user's tokens by id
        code = _call(root, method, _fill(path, bobs))
        assert code < 400, f"root got {code} from GET {path} on bob's resource"
    assert [t["id"] for t in root.get("/api/v1/tasks").json()["items"]] == [int(bobs["task_id"])]
    stopped = root.post(f"/api/v1/tasks/{bobs['task_id']}/stop")
    assert stopped.status_code == 200 and stopped.json()["status"] == "STOPPED"


def test_a_member_sees_and_stops_their_own(
    as_user: Callable[[str | None], TestClient], bobs: dict[str, str]
) -> None:
    bob = as_user("bob")
    assert [t["id"] for t in bob.get("/api/v1/tasks").json()["items"]] == [int(bobs["task_id"])]
    assert bob.get(f"/api/v1/datasets/{bobs['name']}").status_code == 200
    assert bob.post(f"/api/v1/tasks/{bobs['task_id']}/stop").json()["status"] == "STOPPED"


def test_members_cannot_use_admin_routes(as_user: Callable[[str | None], TestClient]) -> None:
    alice = as_user("alice")
    assert alice.get("/api/v1/users").status_code == 403
    made = alice.post("/api/v1/users", json={"username": "mallory", "role": "admin"})
    assert made.status_code == 403 and made.json()["error"]["code"] == "admin_only"


def test_a_member_cannot_read_another_members_account_or_ledger(
    as_user: Callable[[str | None], TestClient], bobs: dict[str, str]
) -> None:
    root, alice = as_user("root"), as_user("alice")
    assert root.post("/api/v1/billing/recharge", json={"user": "bob", "amount": "5.00"}).is_success
    for path in ("/api/v1/billing/account?user=bob", "/api/v1/billing/ledger?user=bob"):
        answer = alice.get(path)
        assert answer.status_code == 404, path
        assert answer.json()["error"]["code"] == "billing_not_found"
        assert root.get(path).status_code == 200
    assert alice.get("/api/v1/billing/ledger").json()["items"] == []  # her own: empty
    assert as_user("bob").get("/api/v1/billing/account").json()["balance"] == "5.00"
    refused = alice.post("/api/v1/billing/recharge", json={"user": "alice", "amount": "9.00"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "admin_only"
