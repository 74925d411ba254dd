"""What must hold on PostgreSQL as on SQLite: the claim race, JSON columns, timezone-aware
datetimes and the order of events. Each test runs on both databases (``database``),
switched by settings alone; the public API only (``session_scope``, the queue, the
task service), so the tests do not care how the schema is made."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from autolearn.db import Task, TaskEvent, Worker, session_scope
from autolearn.db.models import utcnow
from autolearn.scheduler.queue import claim_next, queued_count
from autolearn.scheduler.reporting import DbReporter
from autolearn.scheduler.supervisor import live_worker
from autolearn.tasks.service import task_events


def add_tasks(n: int, region: str = "local", **fields: Any) -> list[int]:
    """``n`` QUEUED task rows, as the task service would leave them."""
    rows = [
        Task(
            **{
                "name": f"t{i}",
                "scenario": "classification",
                "region": region,
                "status": "QUEUED",
                "spec": {"basic": {"name": f"t{i}"}},
                "output_uri": f"file:///tmp/none/{i}",
                **fields,
            }
        )
        for i in range(n)
    ]
    with session_scope() as s:
        s.add_all(rows)
        s.flush()
        return [r.id for r in rows]


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes (written as UTC); PostgreSQL aware ones."""
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def test_the_database_is_the_one_the_settings_name(database: str) -> None:
    with session_scope() as s:
        dialect = s.get_bind().dialect.name
    assert dialect == database.split(":")[0].split("+")[0]


def test_concurrent_claims_take_every_task_exactly_once(database: str) -> None:
    ids = add_tasks(24)
    claimed: list[int] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def claimer() -> None:
        try:
            while (task_id := claim_next("local")) is not None:
                with lock:
                    claimed.append(task_id)
        except BaseException as exc:  # surfaced below: a thread's failure is the test's
            errors.append(exc)

    threads = [threading.Thread(target=claimer) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(claimed) == ids  # each once: no double claim, none left behind
    assert queued_count("local") == 0
    with session_scope() as s:
        starting = s.scalars(select(TaskEvent.task_id).where(TaskEvent.kind == "status")).all()
    assert sorted(starting) == ids  # one STARTING event per claim


@pytest.mark.postgres
def test_a_claim_skips_a_row_another_transaction_holds(
    autolearn_home: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FOR UPDATE SKIP LOCKED: a supervisor does not wait for another one's claim."""
    from autolearn.db.session import get_engine
    from autolearn.settings import get_settings

    monkeypatch.setenv("AUTOLEARN_DATABASE_URL", postgres_url)
    get_settings.cache_clear()
    get_engine.cache_clear()
    first, second = add_tasks(2)
    result: list[int | None] = []
    with get_engine(postgres_url).connect() as holder:
        holder.execute(text("SET lock_timeout = '20s'"))
        holder.execute(text("SELECT id FROM tasks WHERE id = :id FOR UPDATE"), {"id": first})
        claimer = threading.Thread(target=lambda: result.append(claim_next("local")))
        claimer.start()
        claimer.join(timeout=15)  # a guard against a hang, not a timing assertion
        alive = claimer.is_alive()
        holder.rollback()
    claimer.join()
    assert not alive, "the claim waited for the locked row instead of skipping it"
    assert result == [second]
    get_engine(postgres_url).dispose()
    get_engine.cache_clear()


def test_json_columns_round_trip(database: str) -> None:
    spec = {
        "basic": {"name": "训练任务 ☕", "tags": ["a", "b"]},
        "nested": {"deep": [{"x": 1.5, "y": None, "z": True}], "big": 2**53 + 1},
        "empty": {},
    }
    (task_id,) = add_tasks(1, spec=spec, metrics={"accuracy": 0.875, "per_class": [0.5, 1.0]})
    with session_scope() as s:
        row = s.get(Task, task_id)
        assert row is not None
        assert row.spec == spec
        assert row.metrics == {"accuracy": 0.875, "per_class": [0.5, 1.0]}
        row.metrics = {**row.metrics, "best_epoch": 3}  # reassigned: JSON is not mutable-tracked
    with session_scope() as s:
        assert s.get(Task, task_id).metrics["best_epoch"] == 3  # type: ignore[union-attr]


def test_non_finite_numbers_in_events_are_stored_as_null(database: str) -> None:
    """PostgreSQL's JSON type rejects NaN: a diverged loss must not crash the worker."""
    (task_id,) = add_tasks(1)
    report = DbReporter(task_id)
    report({"kind": "step", "step": 1, "data": {"loss": float("nan"), "lr": [float("inf"), 1.0]}})
    (event,) = task_events(task_id, kind="step")
    assert event["data"] == {"loss": None, "lr": [None, 1.0]}


def test_timezone_aware_datetimes_round_trip(database: str) -> None:
    moment = datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=timezone.utc)
    (task_id,) = add_tasks(1, heartbeat_at=moment, started_at=moment)
    with session_scope() as s:
        row = s.get(Task, task_id)
        assert row is not None and row.heartbeat_at is not None
        assert as_utc(row.heartbeat_at) == moment
        if database.startswith("postgresql"):
            assert row.heartbeat_at.tzinfo is not None  # timestamptz keeps the zone


def test_heartbeat_comparisons_work_on_both(database: str) -> None:
    """The queue compares stored heartbeats with an aware 'now' (naive on SQLite)."""
    with session_scope() as s:
        s.add(Worker(host="another-host", pid=4242, region="gpu", heartbeat_at=utcnow()))
        s.add(
            Worker(
                host="another-host",
                pid=4343,
                region="old",
                heartbeat_at=utcnow() - timedelta(hours=1),
            )
        )
    assert live_worker("gpu") == 4242
    assert live_worker("old") is None  # stale: removed
    with session_scope() as s:
        assert s.scalars(select(Worker.pid)).all() == [4242]


def test_events_come_back_in_the_order_they_were_written(database: str) -> None:
    (task_id,) = add_tasks(1)
    report = DbReporter(task_id)
    for step in range(1, 41):
        kind = "epoch" if step % 10 == 0 else "step"
        report({"kind": kind, "epoch": (step - 1) // 10 + 1, "step": step, "data": {"n": step}})
    events = task_events(task_id)
    assert [e["step"] for e in events] == list(range(1, 41))
    assert [e["data"]["n"] for e in task_events(task_id, kind="epoch")] == [10, 20, 30, 40]
    later = task_events(task_id, after_id=events[19]["id"])
    assert [e["step"] for e in later] == list(range(21, 41))
    with session_scope() as s:
        row = s.get(Task, task_id)
        assert row is not None and row.step == 40 and row.epoch == 4
