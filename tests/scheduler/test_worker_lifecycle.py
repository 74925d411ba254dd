"""Real worker processes under the supervisor: SIGKILL mid-epoch, resume, finish."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from autolearn.datasets.service import import_dataset
from autolearn.scheduler.supervisor import Supervisor
from autolearn.settings import get_settings
from autolearn.tasks.service import create_task, get_task, parse_spec, resume_task, task_events

pytestmark = pytest.mark.slow


def wait_until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture
def supervisor(autolearn_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Supervisor]:
    monkeypatch.setenv("AUTOLEARN_PROGRESS_INTERVAL_S", "0")
    get_settings.cache_clear()
    sup = Supervisor(poll_s=0.1)
    thread = threading.Thread(target=sup.run, daemon=True)
    thread.start()
    yield sup
    sup.stop()
    thread.join(timeout=10)
    for handle in sup.handles.values():
        handle.signal(signal.SIGKILL)


@pytest.fixture
def colours(autolearn_home: Path, make_learnable_folder: Callable[..., Path]) -> str:
    """Dataset 'colours': 80 + 80 images, so an epoch has 16 steps of 8."""
    make_learnable_folder(autolearn_home / "colours", {"a": 80, "b": 80})
    return import_dataset(autolearn_home / "colours", name="colours").ref


def test_sigkill_mid_epoch_then_resume_continues_from_the_checkpoint(
    supervisor: Supervisor, colours: str, tiny_spec: Callable[..., dict[str, Any]]
) -> None:
    task_id = create_task(parse_spec(tiny_spec(hyperparams={"epochs": 6})))["id"]
    steps_per_epoch = 16  # 128 training images, batch 8

    def mid_epoch_three() -> Any:
        steps = task_events(task_id, kind="step")
        last = steps[-1] if steps else None
        ok = last and last["epoch"] == 3 and 2 < last["step"] % steps_per_epoch < 14
        return get_task(task_id)["pid"] if ok else None

    pid = wait_until(mid_epoch_three, 120, "epoch 3 to be half done")
    os.kill(pid, signal.SIGKILL)
    failed = wait_until(lambda: _status_in(task_id, {"FAILED"}), 30, "the kill to be noticed")
    assert "SIGKILL" in failed["message"] and f"task resume {task_id}" in failed["message"]
    assert failed["epoch"] == 3

    resume_task(task_id)
    done = wait_until(lambda: _status_in(task_id, {"SUCCEED", "FAILED"}), 120, "the end")
    assert done["status"] == "SUCCEED", done["message"]

    events = task_events(task_id)
    resumes = [e for e in events if e["kind"] == "resume"]
    assert [e["data"]["from_epoch"] for e in resumes] == [2]  # at most one epoch lost
    cut = events.index(resumes[0])
    before = [e["epoch"] for e in events[:cut] if e["kind"] == "epoch"]
    after = [e["epoch"] for e in events[cut:] if e["kind"] == "epoch"]
    assert before == [1, 2] and after == [3, 4, 5, 6]  # the counter continues
    first_step_after = next(e for e in events[cut:] if e["kind"] == "step")
    assert first_step_after["step"] == 2 * steps_per_epoch + 1
    assert done["attempts"] == 2 and done["epoch"] == 6


def _status_in(task_id: int, statuses: set[str]) -> dict[str, Any] | None:
    task = get_task(task_id)
    return task if task["status"] in statuses else None


def test_stop_ends_a_running_worker_and_keeps_its_best_model(
    supervisor: Supervisor, colours: str, tiny_spec: Callable[..., dict[str, Any]]
) -> None:
    from autolearn.tasks.service import stop_task

    task_id = create_task(parse_spec(tiny_spec(hyperparams={"epochs": 50})))["id"]
    wait_until(lambda: task_events(task_id, kind="epoch"), 120, "a first epoch")
    stop_task(task_id)
    task = wait_until(lambda: _status_in(task_id, {"STOPPED", "FAILED"}), 60, "the stop")
    assert task["status"] == "STOPPED" and task["stop_reason"] == "user_stop"
    assert task["model_uri"] and task["metrics"]["best_epoch"] >= 1
    assert task["epoch"] < 50


def test_orphaned_running_task_is_resumed_when_the_queue_restarts(
    autolearn_home: Path,
    make_learnable_folder: Callable[..., Path],
    tiny_spec: Callable[..., dict[str, Any]],
) -> None:
    """A RUNNING row whose worker is gone (the machine died) is requeued with resume."""
    from autolearn.db import Task, session_scope

    make_learnable_folder(autolearn_home / "colours", {"a": 10, "b": 10})
    import_dataset(autolearn_home / "colours", name="colours")
    task_id = create_task(parse_spec(tiny_spec()))["id"]
    with session_scope() as s:
        row = s.get(Task, task_id)
        assert row is not None
        row.status, row.pid = "RUNNING", 2**22 + 12345  # no such process
        from autolearn.scheduler.queue import HOST

        row.host = HOST
    sup = Supervisor(poll_s=0.1)
    sup.recover()
    task = get_task(task_id)
    assert task["status"] == "QUEUED"
