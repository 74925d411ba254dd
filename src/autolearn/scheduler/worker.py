"""The one worker entrypoint: ``python -m autolearn.scheduler.worker TASK_ID``.

It trains one task and reports through the database (status, events, logs) and the
task's object store (checkpoints, model, report). The local executor runs it as a
subprocess; the Ray executor runs the same module as a subprocess of an actor on a
cluster node, and the worker records that node in its RUNNING event.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
import traceback
from typing import Any

from sqlalchemy import Engine

from autolearn.db import Task, TaskEvent, TaskLog, session_scope
from autolearn.db.models import utcnow
from autolearn.scheduler.queue import HOST
from autolearn.scheduler.reporting import DbLogHandler, DbReporter, json_safe
from autolearn.tasks.states import Status

log = logging.getLogger("autolearn.worker")


def _begin(task_id: int, engine: Engine | None) -> Task:
    """STARTING (or QUEUED, when run by hand) → RUNNING, recording who runs it."""
    from autolearn.billing.charging import on_running

    with session_scope(engine) as s:
        task = s.get(Task, task_id)
        if task is None:
            raise SystemExit(f"task {task_id} does not exist")
        if task.status not in (Status.STARTING.value, Status.QUEUED.value):
            raise SystemExit(
                f"task {task_id} is {task.status}; the worker runs only STARTING or QUEUED tasks"
            )
        task.status, task.pid, task.host = Status.RUNNING.value, os.getpid(), HOST
        task.attempts += 1
        task.started_at = task.started_at or utcnow()
        task.heartbeat_at = utcnow()
        data = {"status": Status.RUNNING.value, "pid": os.getpid(), "attempt": task.attempts}
        s.add(TaskEvent(task_id=task_id, kind="status", data={**data, **_placement()}))
        on_running(s, task_id)  # pay-as-you-go: the meter starts now
        s.flush()
        s.expunge(task)
        return task


def _placement() -> dict[str, Any]:
    """Where this worker runs, when an executor told it (the Ray node and actor)."""
    from autolearn.scheduler.executors.ray import ACTOR_ENV, NODE_ENV

    node = os.environ.get(NODE_ENV)
    if not node:
        return {}
    return {
        "executor": "ray",
        "host": HOST,
        "ray_node_id": node,
        "ray_actor": os.environ.get(ACTOR_ENV, ""),
    }


def _follow_parent() -> None:
    """Die (SIGKILL) with the Ray actor that started this worker, when it says so.

    Ray ends an actor to free its resources or to force a stop; a worker left behind
    would train on unwatched, holding a GPU the cluster thinks is free."""
    from autolearn.scheduler.executors.ray import PARENT_ENV

    parent = os.environ.get(PARENT_ENV, "")
    if not parent.isdigit() or not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != int(parent):  # it died before the line above
        os._exit(1)


def _finish(task_id: int, status: Status, engine: Engine | None, **fields: Any) -> None:
    with session_scope(engine) as s:
        task = s.get(Task, task_id)
        assert task is not None
        task.status = status.value
        for key, value in fields.items():
            setattr(task, key, value)
        task.finished_at, task.pid, task.eta_s = utcnow(), None, None
        s.add(
            TaskEvent(
                task_id=task_id,
                kind="status",
                epoch=task.epoch,
                data={
                    "status": status.value,
                    "stop_reason": task.stop_reason,
                    "message": task.message,
                },
            )
        )


def run_task(task_id: int, engine: Engine | None = None, started_at: float | None = None) -> Status:
    """Train one task to the end; every outcome is written to its row."""
    from autolearn.scheduler.job import execute

    started_at = time.monotonic() if started_at is None else started_at
    task = _begin(task_id, engine)
    reporter = DbReporter(task_id, engine)
    previous = _on_sigterm(reporter.signalled.set)
    try:
        outcome = execute(task, reporter, started_at, engine)
    except Exception as exc:  # any failure ends FAILED with the reason, never silently
        log.error("training failed: %s\n%s", exc, traceback.format_exc())
        _finish(task_id, Status.FAILED, engine, message=f"{type(exc).__name__}: {exc}")
        return Status.FAILED
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    _finish(
        task_id,
        outcome.status,
        engine,
        stop_reason=outcome.stop_reason,
        message=outcome.message,
        metrics=json_safe(outcome.metrics),
        resume=False,
    )
    return outcome.status


def _on_sigterm(action: Any) -> Any:
    """SIGTERM asks training to stop after the current step (main thread only); returns
    the previous handler so an in-process caller gets it back."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, lambda *_: action())


def main(argv: list[str] | None = None) -> int:
    started_at = time.monotonic()
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not args[0].isdigit():
        print("usage: python -m autolearn.scheduler.worker TASK_ID", file=sys.stderr)
        return 2
    task_id = int(args[0])
    _follow_parent()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    handler = DbLogHandler(task_id)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logging.getLogger("autolearn").addHandler(handler)
    status = run_task(task_id, started_at=started_at)
    return 0 if status in (Status.SUCCEED, Status.STOPPED) else 1


def log_line(task_id: int, message: str, level: str = "INFO", engine: Engine | None = None) -> None:
    """Append one line to a task's log from outside the worker (the supervisor)."""
    with session_scope(engine) as s:
        s.add(TaskLog(task_id=task_id, level=level, message=message))


if __name__ == "__main__":
    sys.exit(main())
