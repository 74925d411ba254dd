"""The tasks table is the queue: claims are atomic, statuses move only as allowed.

Every test with ``two_tasks`` runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select, update

from autolearn.datasets.service import import_dataset
from autolearn.db import Task, session_scope
from autolearn.scheduler.queue import claim_next
from autolearn.tasks.service import TaskError, create_task, parse_spec, resume_task, stop_task
from autolearn.tasks.states import Status, can_move


@pytest.fixture
def two_tasks(
    database: str, autolearn_home: Path, make_learnable_folder: Callable[..., Path]
) -> list[int]:
    """Two QUEUED tasks, on SQLite and again on PostgreSQL (``database``)."""
    make_learnable_folder(autolearn_home / "colours", {"a": 10, "b": 10})
    import_dataset(autolearn_home / "colours", name="colours")
    spec = parse_spec({"data": {"source": {"type": "dataset", "dataset": "colours"}}})
    return [create_task(spec)["id"], create_task(spec)["id"]]


def test_claims_go_oldest_first_and_only_once(two_tasks: list[int]) -> None:
    assert claim_next("local") == two_tasks[0]
    assert claim_next("local") == two_tasks[1]
    assert claim_next("local") is None
    assert claim_next("other-region") is None
    with session_scope() as s:
        statuses = s.scalars(select(Task.status)).all()
    assert statuses == ["STARTING", "STARTING"]


def test_a_claim_loses_to_a_concurrent_one(two_tasks: list[int], monkeypatch) -> None:
    """The guard: a row claimed by someone else between SELECT and UPDATE is skipped."""
    with session_scope() as s:
        s.execute(update(Task).where(Task.id == two_tasks[0]).values(status="STARTING"))
    assert claim_next("local") == two_tasks[1]


def test_stop_a_queued_task_at_once_and_resume_it(two_tasks: list[int]) -> None:
    stopped = stop_task(two_tasks[0])
    assert stopped["status"] == "STOPPED" and stopped["stop_reason"] == "user_stop"
    with pytest.raises(TaskError, match="only"):
        stop_task(two_tasks[0])
    resumed = resume_task(two_tasks[0])
    assert resumed["status"] == "QUEUED" and resumed["stop_reason"] is None


def test_stop_a_running_task_asks_it_to_stop(two_tasks: list[int]) -> None:
    claim_next("local")
    task = stop_task(two_tasks[0])
    assert task["status"] == "STOPPING"
    with session_scope() as s:
        row = s.get(Task, two_tasks[0])
        assert row is not None and row.stop_requested


def test_only_stopped_or_failed_tasks_resume(two_tasks: list[int]) -> None:
    with pytest.raises(TaskError, match="only STOPPED or FAILED"):
        resume_task(two_tasks[0])
    with pytest.raises(TaskError, match="does not exist"):
        resume_task(999)


def test_transitions() -> None:
    assert can_move("QUEUED", "STARTING")
    assert can_move("RUNNING", "SUCCEED")
    assert can_move("FAILED", "QUEUED")
    assert not can_move("SUCCEED", "QUEUED")
    assert not can_move("QUEUED", "SUCCEED")
    assert {s.value for s in Status} == {
        "QUEUED",
        "STARTING",
        "RUNNING",
        "STOPPING",
        "STOPPED",
        "FAILED",
        "SUCCEED",
        "SUBMIT_FAILED",
    }
