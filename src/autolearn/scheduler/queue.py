"""The queue is the tasks table: claim a QUEUED row with a guarded UPDATE.

The guard (``WHERE status = 'QUEUED'``) makes the claim atomic on SQLite and on
PostgreSQL alike: of two supervisors racing for a row, exactly one updates it. On
PostgreSQL the candidate is also read ``FOR UPDATE SKIP LOCKED``, so a supervisor
passes over a row another one is claiming instead of waiting for that transaction to
end (SQLite has no row locks; SQLAlchemy leaves the clause out there).
"""

from __future__ import annotations

import os
import socket

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from autolearn.billing.groups import admit, blocked_tasks, expired_queued
from autolearn.db import Task, TaskEvent, TaskLog, session_scope
from autolearn.db.models import utcnow
from autolearn.tasks.states import Status

HOST = socket.gethostname()


def claim_next(region: str, engine: Engine | None = None) -> int | None:
    """Move the oldest QUEUED task of ``region`` to STARTING; return its ID or None.
    A task of a prepaid resource group starts only while the group has room for it."""
    with session_scope(engine) as s:
        for task_id in _candidates(s, region):
            if not admit(s, task_id, utcnow()):
                continue
            claimed = s.execute(
                update(Task)
                .where(Task.id == task_id, Task.status == Status.QUEUED.value)
                .values(status=Status.STARTING.value, host=HOST, pid=None, heartbeat_at=utcnow())
            )
            if claimed.rowcount == 1:  # type: ignore[attr-defined]
                s.add(
                    TaskEvent(
                        task_id=task_id,
                        kind="status",
                        data={
                            "status": Status.STARTING.value,
                            "host": HOST,
                            "supervisor_pid": os.getpid(),
                        },
                    )
                )
                return int(task_id)
    return None


def _candidates(s: Session, region: str) -> list[int]:
    """The oldest QUEUED IDs: one locked row on PostgreSQL, a few to try on SQLite (where
    a concurrent claim makes the guarded UPDATE miss and the next one is tried)."""
    locking = s.get_bind().dialect.name == "postgresql"
    query = (
        select(Task.id)
        .where(Task.status == Status.QUEUED.value, Task.region == region)
        .where(blocked_tasks(utcnow()))
        .order_by(Task.id)
        .limit(1 if locking else 5)
    )
    if locking:
        query = query.with_for_update(skip_locked=True)
    return list(s.scalars(query).all())


def queued_count(region: str, engine: Engine | None = None) -> int:
    with session_scope(engine) as s:
        count = s.scalar(
            select(func.count(Task.id)).where(
                Task.status == Status.QUEUED.value, Task.region == region
            )
        )
    return int(count or 0)


def refuse_expired_groups(region: str, engine: Engine | None = None) -> list[int]:
    """QUEUED tasks of ``region`` whose prepaid group expired can never start: each is
    moved to SUBMIT_FAILED (guarded, like a claim) and the IDs returned."""
    refused = []
    with session_scope(engine) as s:
        for task_id, group in expired_queued(s, region, utcnow()):
            message = f"its prepaid resource group {group!r} expired before it could start"
            done = s.execute(
                update(Task)
                .where(Task.id == task_id, Task.status == Status.QUEUED.value)
                .values(
                    status=Status.SUBMIT_FAILED.value,
                    message=message,
                    stop_reason="group_expired",
                    finished_at=utcnow(),
                )
            )
            if done.rowcount == 1:  # type: ignore[attr-defined]
                s.add(TaskLog(task_id=task_id, level="ERROR", message=message))
                s.add(
                    TaskEvent(
                        task_id=task_id,
                        kind="status",
                        data={"status": Status.SUBMIT_FAILED.value, "message": message},
                    )
                )
                refused.append(int(task_id))
    return refused
