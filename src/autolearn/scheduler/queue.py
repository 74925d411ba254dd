"""The queue is the tasks table: claim a QUEUED row with a guarded UPDATE.

The guard (``WHERE status = 'QUEUED'``) makes the claim atomic on SQLite and on
PostgreSQL alike: of two supervisors racing for a row, exactly one updates it.
"""

from __future__ import annotations

import os
import socket

from sqlalchemy import Engine, select, update

from autolearn.db import Task, TaskEvent, session_scope
from autolearn.db.models import utcnow
from autolearn.tasks.states import Status

HOST = socket.gethostname()


def claim_next(region: str, engine: Engine | None = None) -> int | None:
    """Move the oldest QUEUED task of ``region`` to STARTING; return its ID or None."""
    with session_scope(engine) as s:
        candidates = s.scalars(
            select(Task.id)
            .where(Task.status == Status.QUEUED.value, Task.region == region)
            .order_by(Task.id)
            .limit(5)
        ).all()
        for task_id in candidates:
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


def queued_count(region: str, engine: Engine | None = None) -> int:
    with session_scope(engine) as s:
        return len(
            s.scalars(
                select(Task.id).where(Task.status == Status.QUEUED.value, Task.region == region)
            ).all()
        )
