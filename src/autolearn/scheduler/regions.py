"""Regions are named worker pools: what each has (live queue workers and their slots) and
what it carries (running and queued tasks). The console's start page shows this before
a task is created, as the seed's "choose a region" step does."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, func, select

from autolearn.accounts.principal import Principal
from autolearn.db import Task, Worker, session_scope
from autolearn.db.models import as_utc, utcnow
from autolearn.scheduler.supervisor import WORKER_STALE_S
from autolearn.tasks.states import ACTIVE, Status


def region_overview(
    engine: Engine | None = None, actor: Principal | None = None
) -> list[dict[str, Any]]:
    """One row per region that has a live worker or an active task, by name. Capacity
    counts every user's tasks (the pool is shared); nothing else about them is shown."""
    fresh = utcnow() - timedelta(seconds=WORKER_STALE_S)
    rows: dict[str, dict[str, Any]] = {}

    def row(name: str) -> dict[str, Any]:
        return rows.setdefault(
            name, {"name": name, "workers": 0, "slots": 0, "running": 0, "queued": 0}
        )

    with session_scope(engine) as s:
        for worker in s.scalars(select(Worker)):
            if as_utc(worker.heartbeat_at) > fresh:
                row(worker.region)["workers"] += 1
                row(worker.region)["slots"] += worker.slots or 1
        active = [x.value for x in ACTIVE] + [Status.QUEUED.value]
        counts = s.execute(
            select(Task.region, Task.status, func.count())
            .where(Task.status.in_(active))
            .group_by(Task.region, Task.status)
        )
        for region, status, n in counts:
            key = "queued" if status == Status.QUEUED.value else "running"
            row(region)[key] += int(n)
    for item in rows.values():
        item["free_slots"] = max(item["slots"] - item["running"], 0)
    return [rows[name] for name in sorted(rows)]
