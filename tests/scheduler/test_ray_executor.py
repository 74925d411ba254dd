"""Tasks on the Ray executor against a real local Ray head, with PostgreSQL as the database
and SeaweedFS S3 as the platform store and the output path: the worker on the Ray node
gets everything through settings and the shared services, nothing through this
machine's disk."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from autolearn.datasets.service import import_dataset
from autolearn.scheduler.supervisor import Supervisor
from autolearn.tasks.service import (
    create_task,
    get_task,
    parse_spec,
    stop_task,
    task_events,
    task_logs,
)
from ray_server import RayHead

pytestmark = [pytest.mark.ray, pytest.mark.postgres, pytest.mark.s3, pytest.mark.slow]

TERMINAL = {"SUCCEED", "FAILED", "STOPPED", "SUBMIT_FAILED"}
LONG = 1000  # epochs (the most a form allows): a task that only a stop or a kill ends


def wait_until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``check`` until it is truthy; the timeout only guards against a hang."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def ended(task_id: int) -> dict[str, Any] | None:
    task = get_task(task_id)
    return task if task["status"] in TERMINAL else None


@pytest.fixture
def cluster(
    autolearn_home: Path,
    postgres_url: str,
    s3_uri: str,
    ray_head: RayHead,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[str]:
    """Settings for a cluster: Ray executor, PostgreSQL, the platform store on S3.
    Yields the S3 prefix of this test."""
    from autolearn.db.session import get_engine
    from autolearn.settings import get_settings

    env = {
        "AUTOLEARN_EXECUTOR": "ray",
        "AUTOLEARN_RAY_ADDRESS": ray_head.address,
        "AUTOLEARN_RAY_NAMESPACE": f"test-{uuid.uuid4().hex[:8]}",  # this test's actors only
        "AUTOLEARN_DATABASE_URL": postgres_url,
        "AUTOLEARN_STORAGE_URL": f"{s3_uri}/platform",
        "AUTOLEARN_PROGRESS_INTERVAL_S": "0",
        "AUTOLEARN_NUM_WORKERS": "0",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield s3_uri
    get_engine(postgres_url).dispose()
    get_settings.cache_clear()
    get_engine.cache_clear()


@pytest.fixture
def colours(cluster: str, autolearn_home: Path, make_learnable_folder: Callable[..., Path]) -> str:
    """Dataset 'colours' (40 + 40 images) imported into the S3 platform store."""
    folder = make_learnable_folder(autolearn_home / "colours", {"blue": 40, "red": 40})
    return import_dataset(folder, name="colours").ref


@contextmanager
def running(sup: Supervisor) -> Iterator[Supervisor]:
    """``sup`` looping in a thread until the block ends (its workers are left running)."""
    thread = threading.Thread(target=sup.run, daemon=True)
    thread.start()
    try:
        yield sup
    finally:
        sup.stop()
        thread.join(timeout=30)


@pytest.fixture
def cleanup() -> Iterator[list[Supervisor]]:
    """Supervisors registered here have their leftover actors ended after the test."""
    made: list[Supervisor] = []
    yield made
    for sup in made:
        for handle in sup.handles.values():
            handle.release()
        sup.executor.close()


def supervisor(cleanup: list[Supervisor]) -> Supervisor:
    sup = Supervisor(poll_s=0.1)
    cleanup.append(sup)
    return sup


def ray_actor_names(namespace: str) -> list[str]:
    import ray

    return [
        a["name"]
        for a in ray.util.list_named_actors(all_namespaces=True)
        if a["namespace"] == namespace
    ]


def test_a_task_runs_on_the_ray_head_with_postgres_and_s3(
    cluster: str,
    colours: str,
    cleanup: list[Supervisor],
    tiny_spec: Callable[..., dict[str, Any]],
) -> None:
    import ray
    from sqlalchemy import func, select

    from autolearn.db import TaskEvent, session_scope
    from autolearn.settings import get_settings
    from autolearn.storage import open_store
    from autolearn.tasks.results import MODEL_KEY, REPORT_KEY

    output = f"{cluster}/runs/on-ray"
    spec = tiny_spec(hyperparams={"epochs": 2})
    spec["output"] = {"path": output}
    task_id = create_task(parse_spec(spec))["id"]
    with running(supervisor(cleanup)) as sup:
        task = wait_until(lambda: ended(task_id), 240, "the task to finish")
        wait_until(lambda: task_id not in sup.handles, 30, "the supervisor to reap it")

    assert task["status"] == "SUCCEED", (task["message"], task_logs(task_id)[-10:])
    assert task["output_uri"] == output
    store = open_store(output)
    assert store.exists(MODEL_KEY) and store.exists(REPORT_KEY)
    assert task["model_uri"] == store.uri(MODEL_KEY)

    with session_scope() as s:  # the events are rows of the PostgreSQL database
        assert s.get_bind().dialect.name == "postgresql"
        count = s.scalar(select(func.count()).where(TaskEvent.task_id == task_id))
    assert count == len(task_events(task_id)) and count > 4
    assert [e["epoch"] for e in task_events(task_id, kind="epoch")] == [1, 2]

    running_event = next(
        e for e in task_events(task_id, kind="status") if e["data"]["status"] == "RUNNING"
    )
    where = running_event["data"]
    assert where["executor"] == "ray" and where["ray_actor"].startswith(f"task-{task_id}-")
    assert where["ray_node_id"] in {n["NodeID"] for n in ray.nodes()}  # the test head's node
    assert ray_actor_names(get_settings().ray_namespace) == []  # released after the run


def test_a_restarted_supervisor_adopts_the_ray_worker_and_stops_it(
    cluster: str,
    colours: str,
    cleanup: list[Supervisor],
    tiny_spec: Callable[..., dict[str, Any]],
) -> None:
    """The worker outlives its supervisor (a detached actor); the next one finds it by
    name and its SIGTERM reaches the worker through the actor."""
    from autolearn.scheduler.executors.ray import RayHandle

    task_id = create_task(parse_spec(tiny_spec(hyperparams={"epochs": LONG})))["id"]
    with running(supervisor(cleanup)):
        wait_until(lambda: task_events(task_id, kind="epoch"), 180, "a first epoch")
    assert get_task(task_id)["status"] == "RUNNING"  # its supervisor is gone, it is not

    with running(supervisor(cleanup)) as second:
        handle = wait_until(lambda: second.handles.get(task_id), 60, "the worker adopted")
        assert isinstance(handle, RayHandle)
        handle.terminate()  # no stop flag in the database: only the signal can stop it
        task = wait_until(lambda: ended(task_id), 120, "the worker to stop")

    assert task["status"] == "STOPPED" and task["stop_reason"] == "user_stop", task["message"]
    assert task["metrics"]["best_epoch"] >= 1 and task["epoch"] < LONG
    assert any("SIGTERM" in line["message"] for line in task_logs(task_id))


def test_kill_through_ray_fails_the_task_with_the_way_to_resume(
    cluster: str,
    colours: str,
    cleanup: list[Supervisor],
    tiny_spec: Callable[..., dict[str, Any]],
) -> None:
    from autolearn.settings import get_settings

    task_id = create_task(parse_spec(tiny_spec(hyperparams={"epochs": LONG})))["id"]
    with running(supervisor(cleanup)) as sup:
        wait_until(lambda: task_events(task_id, kind="epoch"), 180, "a first epoch")
        sup.handles[task_id].kill()
        task = wait_until(lambda: ended(task_id), 60, "the kill to be recorded")
        wait_until(lambda: task_id not in sup.handles, 30, "the supervisor to reap it")

    assert task["status"] == "FAILED"
    assert "SIGKILL" in task["message"] and f"task resume {task_id}" in task["message"]
    assert ray_actor_names(get_settings().ray_namespace) == []


def test_resources_the_cluster_lacks_wait_and_unknown_ones_fail(
    cluster: str,
    colours: str,
    cleanup: list[Supervisor],
    tiny_spec: Callable[..., dict[str, Any]],
) -> None:
    """gpu-t4 on a CPU-only head waits (with a note in its log) and stops at once;
    a spec name nobody knows is SUBMIT_FAILED with the names that exist (creation refuses
    one; a queued task's spec can still leave the catalogue when its file changes)."""
    from autolearn.db import Task, session_scope

    gpu = tiny_spec()
    gpu["resources"] = {"spec": "gpu-t4"}
    unknown_id = create_task(parse_spec(tiny_spec()))["id"]  # first: the one slot stays free
    with session_scope() as s:
        row = s.get(Task, unknown_id)
        assert row is not None
        row.spec = {**row.spec, "resources": {**row.spec["resources"], "spec": "tpu-v9"}}
    gpu_id = create_task(parse_spec(gpu))["id"]
    with running(supervisor(cleanup)) as sup:
        failed = wait_until(lambda: ended(unknown_id), 60, "the unknown spec to fail")
        note = wait_until(
            lambda: [ln for ln in task_logs(gpu_id) if "T4 GPU" in ln["message"]],
            60,
            "the placement note",
        )
        assert get_task(gpu_id)["status"] == "STARTING"
        stop_task(gpu_id)
        stopped = wait_until(lambda: ended(gpu_id), 60, "the waiting task to stop")
        wait_until(lambda: gpu_id not in sup.handles, 30, "the supervisor to reap it")

    assert failed["status"] == "SUBMIT_FAILED"
    assert "tpu-v9" in failed["message"] and "cpu-2c8g" in failed["message"]
    assert "no node of the Ray cluster" in note[0]["message"]
    assert stopped["status"] == "STOPPED" and stopped["stop_reason"] == "user_stop"
