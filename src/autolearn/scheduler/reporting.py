"""How a worker reports: progress events and logs into the database, stop requests out."""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Any

from sqlalchemy import Engine, select

from autolearn.db import Task, TaskEvent, TaskLog, session_scope
from autolearn.db.models import utcnow

log = logging.getLogger("autolearn.worker")


def json_safe(value: Any) -> Any:
    """``value`` with NaN and ±inf floats as None, at any depth.

    Python's json writes them as bare ``NaN``, which SQLite stores but PostgreSQL's
    JSON type rejects: a diverged loss must not crash the worker on PostgreSQL."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


class DbReporter:
    """The progress sink of one task: every event is a row, and the task row carries the
    latest epoch/step/ETA plus a heartbeat."""

    def __init__(self, task_id: int, engine: Engine | None = None) -> None:
        self.task_id = task_id
        self.engine = engine
        self.signalled = threading.Event()
        self._stop_checked_at = 0.0
        self._stop_requested = False
        self._signal_logged = False

    def __call__(self, event: dict[str, Any]) -> None:
        with session_scope(self.engine) as s:
            s.add(
                TaskEvent(
                    task_id=self.task_id,
                    kind=event["kind"],
                    epoch=event.get("epoch"),
                    step=event.get("step"),
                    data=json_safe(event.get("data", {})),
                )
            )
            task = s.get(Task, self.task_id)
            if task is None:
                return
            for key in ("epoch", "step", "total_steps", "eta_s"):
                if event.get(key) is not None:
                    setattr(task, key, event[key])
            if event.get("total_epochs"):
                task.total_epochs = event["total_epochs"]
            task.heartbeat_at = utcnow()
            self._stop_requested = bool(task.stop_requested)

    def stop_requested(self) -> bool:
        """True after SIGTERM or a stop written to the database (polled at most each second)."""
        if self.signalled.is_set():
            if not self._signal_logged:  # logged here, not in the signal handler
                self._signal_logged = True
                log.info("stop signal (SIGTERM) received: stopping after this step")
            return True
        now = time.monotonic()
        if now - self._stop_checked_at >= 1.0:
            self._stop_checked_at = now
            with session_scope(self.engine) as s:
                flag = s.scalar(select(Task.stop_requested).where(Task.id == self.task_id))
            self._stop_requested = bool(flag)
        return self._stop_requested


class DbLogHandler(logging.Handler):
    """Copies the worker's log records into task_logs (``autolearn task logs``)."""

    def __init__(self, task_id: int, engine: Engine | None = None) -> None:
        super().__init__(level=logging.INFO)
        self.task_id = task_id
        self.engine = engine

    def emit(self, record: logging.LogRecord) -> None:
        try:
            with session_scope(self.engine) as s:
                s.add(
                    TaskLog(
                        task_id=self.task_id, level=record.levelname, message=self.format(record)
                    )
                )
        except Exception:  # logging must never kill training
            self.handleError(record)
