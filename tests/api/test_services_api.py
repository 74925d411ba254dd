"""Model versions and online services over REST: publish, list, show, download, delete
(409 while deployed); deploy, predict (multipart, JSON base64, raw body), health, stop
(503), start, delete; micro-batching under concurrent HTTP requests; 429 on a full
queue; members never see each other's; the SDK's methods."""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from fastapi.testclient import TestClient

from autolearn.accounts.service import authenticate_token
from autolearn.sdk import Client
from autolearn.sdk.client import ApiError
from model_fixtures import FakeRuntime, make_finished_task, png_bytes

pytestmark = pytest.mark.usefixtures("clean_services")


@pytest.fixture
def bobs_task(autolearn_home: Path, tokens: dict[str, str]) -> dict[str, Any]:
    return make_finished_task(autolearn_home, "bobdata", actor=authenticate_token(tokens["bob"]))


def _wait_ready(client: TestClient, service_id: int, timeout_s: float = 60) -> dict[str, Any]:
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        health = client.get(f"/api/v1/services/{service_id}/health").json()
        if health["state"] in ("ready", "failed"):
            return dict(health)
        time.sleep(0.02)
    raise AssertionError(f"service {service_id} did not load: {health}")


def test_publish_show_download_and_delete(
    as_user: Callable[[str | None], TestClient], bobs_task: dict[str, Any]
) -> None:
    bob = as_user("bob")
    made = bob.post("/api/v1/model-versions", json={"task_id": bobs_task["id"], "name": "bobs"})
    assert made.status_code == 201, made.text
    version = made.json()
    assert version["ref"] == "bobs:v1" and version["status"] == "ready"
    assert version["card"]["dataset"]["ref"] == "bobdata:v1"
    listed = bob.get("/api/v1/model-versions", params={"name": "bobs"}).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == version["id"]
    for ref in ("bobs", "bobs:v1", str(version["id"])):
        assert bob.get(f"/api/v1/model-versions/{ref}").json()["id"] == version["id"]
    download = bob.get("/api/v1/model-versions/bobs:v1/download")
    assert download.status_code == 200 and len(download.content) == version["size_bytes"]
    assert 'filename="bobs-v1.pt"' in download.headers["content-disposition"]

    missing = bob.get("/api/v1/model-versions/bobs:v7")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "model_version_not_found"
    refused = bob.post(
        "/api/v1/model-versions",
        json={"task_id": bobs_task["id"], "name": "bobs", "profile": "cpu-int8"},
    )
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "publish_refused"

    service = bob.post("/api/v1/services", json={"model": "bobs"}).json()
    in_use = bob.delete("/api/v1/model-versions/bobs:v1")
    assert in_use.status_code == 409
    assert in_use.json()["error"]["code"] == "model_version_in_use"
    assert bob.delete(f"/api/v1/services/{service['id']}").json()["deleted"] is True
    assert bob.delete("/api/v1/model-versions/bobs:v1").json()["deleted"] is True
    assert bob.get("/api/v1/model-versions").json()["total"] == 0


def test_deploy_predict_health_stop_start(
    as_user: Callable[[str | None], TestClient], bobs_task: dict[str, Any]
) -> None:
    bob = as_user("bob")
    bob.post("/api/v1/model-versions", json={"task_id": bobs_task["id"], "name": "bobs"})
    made = bob.post("/api/v1/services", json={"model": "bobs:v1", "name": "bob-svc"})
    assert made.status_code == 201, made.text
    sid = made.json()["id"]
    assert _wait_ready(bob, sid)["state"] == "ready"
    url = f"/api/v1/services/{sid}/predict"

    image = png_bytes(size=(40, 24))
    answers = [
        bob.post(url, files={"image": ("x.png", image, "image/png")}),
        bob.post(url, json={"image_base64": base64.b64encode(image).decode()}),
        bob.post(url, content=image, headers={"Content-Type": "image/png"}),
        bob.post(url, params={"top_k": 1}, files={"image": ("x.png", image, "image/png")}),
    ]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert (body["service"], body["model"], body["width"], body["height"]) == (
            sid,
            "bobs:v1",
            40,
            24,
        )
        assert body["predictions"][0]["label"] == "red" and body["latency_ms"] > 0
    assert len(answers[-1].json()["predictions"]) == 1

    bad = bob.post(url, files={"image": ("x.png", b"not an image", "image/png")})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_image"
    no_field = bob.post(url, files={"other": ("x.png", image, "image/png")})
    assert no_field.status_code == 422 and "'image'" in no_field.json()["error"]["message"]
    bad_json = bob.post(url, json={"image_base64": "***"})
    assert bad_json.status_code == 422 and bad_json.json()["error"]["code"] == "invalid_image"

    health = bob.get(f"/api/v1/services/{sid}/health").json()
    assert health["requests"] == 4 and health["errors"] == 0 and health["ready"] is True
    assert bob.post(f"/api/v1/services/{sid}/stop").json()["status"] == "STOPPED"
    stopped = bob.post(url, files={"image": ("x.png", image, "image/png")})
    assert stopped.status_code == 503 and stopped.json()["error"]["code"] == "not_ready"
    assert stopped.headers["retry-after"] == "1"
    assert bob.get(f"/api/v1/services/{sid}/health").json()["state"] == "stopped"
    assert bob.post(f"/api/v1/services/{sid}/start").json()["status"] == "RUNNING"
    _wait_ready(bob, sid)
    assert bob.post(url, content=image).status_code == 200


def test_loading_answers_503(
    as_user: Callable[[str | None], TestClient],
    bobs_task: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from autolearn.serving import manager as manager_module

    gate = threading.Event()

    def slow(uri: str, threads: int | None) -> FakeRuntime:
        gate.wait(10)
        return FakeRuntime(delay_s=0.0)

    monkeypatch.setattr(manager_module, "_load", slow)
    bob = as_user("bob")
    bob.post("/api/v1/model-versions", json={"task_id": bobs_task["id"], "name": "bobs"})
    sid = bob.post("/api/v1/services", json={"model": "bobs"}).json()["id"]
    loading = bob.post(f"/api/v1/services/{sid}/predict", content=png_bytes())
    assert loading.status_code == 503 and "loading" in loading.json()["error"]["message"]
    assert bob.get(f"/api/v1/services/{sid}/health").json()["state"] == "loading"
    gate.set()
    _wait_ready(bob, sid)
    assert bob.post(f"/api/v1/services/{sid}/predict", content=png_bytes()).status_code == 200


def test_concurrent_http_requests_are_batched_and_a_full_queue_answers_429(
    as_user: Callable[[str | None], TestClient],
    bobs_task: dict[str, Any],
    fake_runtime: Callable[..., FakeRuntime],
) -> None:
    runtime = fake_runtime(delay_s=0.02)
    bob = as_user("bob")
    bob.post("/api/v1/model-versions", json={"task_id": bobs_task["id"], "name": "bobs"})
    sid = bob.post(
        "/api/v1/services", json={"model": "bobs", "max_batch": 8, "max_wait_ms": 50}
    ).json()["id"]
    _wait_ready(bob, sid)
    url = f"/api/v1/services/{sid}/predict"
    image = png_bytes()
    runtime.release.clear()  # hold the first batch so that the others pile up
    with ThreadPoolExecutor(16) as pool:
        futures = [pool.submit(bob.post, url, content=image) for _ in range(16)]
        import time

        time.sleep(0.5)
        runtime.release.set()
        codes = [f.result().status_code for f in futures]
    assert codes == [200] * 16
    assert sum(runtime.batches) == 16 and max(runtime.batches) > 1
    health = bob.get(f"/api/v1/services/{sid}/health").json()
    assert health["mean_batch_size"] > 1 and health["batches"] == len(runtime.batches)

    small = bob.post(
        "/api/v1/services",
        json={"model": "bobs", "max_batch": 1, "max_wait_ms": 0, "queue_size": 2},
    ).json()["id"]
    _wait_ready(bob, small)
    runtime.release.clear()
    with ThreadPoolExecutor(8) as pool:
        futures = [
            pool.submit(bob.post, f"/api/v1/services/{small}/predict", content=image)
            for _ in range(8)
        ]
        time.sleep(0.5)
        runtime.release.set()
        answers = [f.result() for f in futures]
    codes = sorted(a.status_code for a in answers)
    assert codes.count(429) >= 1 and codes.count(200) >= 3, codes
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.json()["error"]["code"] == "overloaded"
    assert refused.headers["retry-after"] == "1"
    assert bob.get(f"/api/v1/services/{small}/health").json()["rejected"] == codes.count(429)


def test_members_never_see_each_others(
    as_user: Callable[[str | None], TestClient], bobs_task: dict[str, Any]
) -> None:
    bob, alice = as_user("bob"), as_user("alice")
    version = bob.post(
        "/api/v1/model-versions", json={"task_id": bobs_task["id"], "name": "bobs"}
    ).json()
    sid = bob.post("/api/v1/services", json={"model": "bobs"}).json()["id"]
    theirs = alice.post("/api/v1/model-versions", json={"task_id": bobs_task["id"], "name": "mine"})
    assert theirs.status_code == 404  # not her task
    assert alice.post("/api/v1/services", json={"model": "bobs"}).status_code == 404
    assert alice.post("/api/v1/services", json={"model": str(version["id"])}).status_code == 404
    assert alice.get("/api/v1/model-versions").json()["total"] == 0
    assert alice.get("/api/v1/services").json()["total"] == 0
    answer = alice.post(f"/api/v1/services/{sid}/predict", content=png_bytes())
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "service_not_found"
    assert as_user("root").get("/api/v1/services").json()["total"] == 1


def test_sdk_methods(
    as_user: Callable[[str | None], TestClient], bobs_task: dict[str, Any], tmp_path: Path
) -> None:
    api = Client(http=cast(httpx.Client, as_user("bob")))  # TestClient is an httpx.Client
    version = api.publish_model(bobs_task["id"], "bobs", description="sdk")
    assert api.list_model_versions(name="bobs")["total"] == 1
    assert api.get_model_version("bobs:v1")["description"] == "sdk"
    saved = api.download_model_version("bobs:v1", tmp_path)
    assert saved.name == "bobs-v1.pt" and saved.stat().st_size == version["size_bytes"]
    service = api.deploy_model("bobs", name="sdk-svc", max_batch=4)
    assert api.get_service(service["id"])["config"]["max_batch"] == 4
    assert api.list_services()["total"] == 1
    result = api.predict_service(service["id"], png_bytes(), wait_s=60)
    assert result["predictions"][0]["label"] == "red"
    assert api.service_health(service["id"])["requests"] == 1
    assert api.stop_service(service["id"])["status"] == "STOPPED"
    with pytest.raises(ApiError) as info:
        api.predict_service(service["id"], png_bytes())
    assert info.value.status == 503 and info.value.code == "not_ready"
    assert api.start_service(service["id"])["status"] == "RUNNING"
    with pytest.raises(ApiError) as info:
        api.delete_model_version("bobs:v1")
    assert info.value.code == "model_version_in_use"
    api.delete_service(service["id"])
    assert api.delete_model_version("bobs:v1")["deleted"] is True
