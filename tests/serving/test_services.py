"""Online services as rows (deploy, list, stop, start, delete, who sees them) and as
loaded runtimes in a process (``ServiceManager``): loaded in the background, 503 while
loading or stopped, a failed load said in health, and a real model of each published
format answering through the batcher."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from autolearn.accounts import Principal
from autolearn.models.published import ModelVersionNotFoundError, publish
from autolearn.serving import services
from autolearn.serving.errors import ServiceError, ServiceNotFoundError, ServiceNotReadyError
from autolearn.serving.manager import ServiceManager
from model_fixtures import FORMATS, FakeRuntime, add_onnx_profile, make_finished_task

pytestmark = pytest.mark.usefixtures("clean_services")


def _wait_ready(manager: ServiceManager, view: dict[str, Any], timeout_s: float = 60) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return manager.ready(view)
        except ServiceNotReadyError as exc:
            if "failed" in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def test_deploy_list_stop_start_delete(published_version: dict[str, Any]) -> None:
    view = services.deploy("colours", config={"max_batch": 4})
    assert view["name"] == "colours-v1" and view["status"] == "RUNNING"
    assert view["model"]["ref"] == "colours:v1" and view["model"]["format"] == "pytorch"
    assert view["config"] == {
        "max_batch": 4,
        "max_wait_ms": 5.0,
        "queue_size": 64,
        "micro_batching": True,
        "threads": None,
    }
    assert view["endpoint"] == f"/api/v1/services/{view['id']}/predict"
    assert services.list_services()["total"] == 1
    assert services.stop_service(view["id"])["status"] == "STOPPED"
    assert services.start_service(view["id"])["status"] == "RUNNING"
    assert services.delete_service(view["id"])["deleted"] is True
    with pytest.raises(ServiceNotFoundError):
        services.get_service(view["id"])


def test_bad_deploys_are_refused(published_version: dict[str, Any]) -> None:
    with pytest.raises(ServiceError, match="max_batch"):
        services.deploy("colours", config={"max_batch": 0})
    with pytest.raises(ServiceError, match="unknown"):
        services.deploy("colours", config={"unknown": 1})
    with pytest.raises(ModelVersionNotFoundError):
        services.deploy("nothing:v1")
    assert services.list_services()["total"] == 0


def test_members_see_only_their_own_services(autolearn_home: Path) -> None:
    from autolearn.accounts.service import create_user

    bob = Principal(create_user("bob", "member")["id"], "bob", "member")
    alice = Principal(create_user("alice", "member")["id"], "alice", "member")
    root = Principal(create_user("root", "admin")["id"], "root", "admin")
    task = make_finished_task(autolearn_home, "bobdata", actor=bob)
    publish(task["id"], "bobs", actor=bob)
    with pytest.raises(ModelVersionNotFoundError):
        services.deploy("bobs", actor=alice)  # she cannot serve bob's model
    view = services.deploy("bobs", actor=bob)
    for action in (services.get_service, services.stop_service, services.delete_service):
        with pytest.raises(ServiceNotFoundError):
            action(view["id"], actor=alice)
    assert services.list_services(actor=alice)["total"] == 0
    assert services.list_services(actor=root)["total"] == 1
    assert services.stop_service(view["id"], actor=root)["status"] == "STOPPED"


def test_the_manager_loads_in_the_background_and_answers_503_meanwhile(
    published_version: dict[str, Any],
) -> None:
    runtime = FakeRuntime(delay_s=0.0)
    loading = FakeRuntime()
    loading.release.clear()

    def slow_loader(uri: str, threads: int | None) -> FakeRuntime:
        loading.release.wait(10)
        return runtime

    manager = ServiceManager(loader=slow_loader)
    view = services.deploy("colours")
    try:
        manager.ensure(view)
        with pytest.raises(ServiceNotReadyError, match="loading"):
            manager.ready(view)
        assert manager.health(view)["state"] == "loading"
        loading.release.set()
        entry = _wait_ready(manager, view)
        image = Image.new("RGB", (10, 10))
        assert entry.batcher.submit(image, None, 5).result(timeout=5)["width"] == 10
        health = manager.health(view)
        assert (health["state"], health["ready"], health["loaded"]) == ("ready", True, True)
        assert health["requests"] == 1 and health["batches"] == 1

        stopped = services.stop_service(view["id"])
        with pytest.raises(ServiceNotReadyError, match="STOPPED"):
            manager.ready(stopped)
        assert manager.health(stopped)["state"] == "stopped"
        assert manager.health(stopped)["loaded"] is False  # unloaded at once
    finally:
        loading.release.set()
        manager.clear()


def test_a_model_that_fails_to_load_says_why(published_version: dict[str, Any]) -> None:
    def broken(uri: str, threads: int | None) -> FakeRuntime:
        raise ValueError("not a model file")

    manager = ServiceManager(loader=broken)
    view = services.deploy("colours")
    manager.ensure(view)
    deadline = time.monotonic() + 5
    while manager.health(view)["state"] == "loading" and time.monotonic() < deadline:
        time.sleep(0.01)
    health = manager.health(view)
    assert health["state"] == "failed" and "not a model file" in health["error"]
    with pytest.raises(ServiceNotReadyError, match="not a model file"):
        manager.ready(view)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_published_model_serves_through_the_real_runtime(
    finished_task: dict[str, Any], fmt: str
) -> None:
    """``load_runtime`` on the published artifact (model.pt or model.onnx), batched."""
    if fmt == "onnx":
        add_onnx_profile(finished_task, "cpu-int8")
    version = publish(finished_task["id"], "colours", "pytorch" if fmt == "pytorch" else "cpu-int8")
    assert version["format"] == fmt
    manager = ServiceManager()
    view = services.deploy("colours", config={"max_batch": 8, "max_wait_ms": 20})
    try:
        entry = _wait_ready(manager, view)
        images = [Image.new("RGB", (40 + i, 24), (200, 30, 30)) for i in range(6)]
        futures = [entry.batcher.submit(img, None, 2) for img in images]
        results = [f.result(timeout=60) for f in futures]
    finally:
        manager.clear()
    for img, result in zip(images, results, strict=True):
        assert result["width"] == img.width and "image" not in result
        assert result["predictions"][0]["label"] == "red"  # the head's bias says so
        assert len(result["predictions"]) == 2
    assert entry.batcher.stats.batches < 6  # some of the six shared a forward pass


def test_fake_runtime_fixture_replaces_the_loader(
    published_version: dict[str, Any], fake_runtime: Callable[..., FakeRuntime]
) -> None:
    from autolearn.serving.manager import manager

    runtime = fake_runtime(delay_s=0.0)
    view = services.deploy("colours")
    entry = _wait_ready(manager(), view)
    entry.batcher.submit(Image.new("RGB", (3, 3)), None, 5).result(timeout=5)
    assert runtime.batches == [1]
