"""The queue runner (``autolearn worker``): claims tasks, starts workers, watches them.

It enforces what the training code cannot promise by itself: a stop request always
ends the worker (SIGTERM, then SIGKILL after a grace period), the time limit has a
hard backstop, a worker that dies is recorded with the way to resume it, and tasks
left RUNNING by a dead worker are resumed from their checkpoints on restart.

Where workers run is the executor's business (``settings.executor``): local
subprocesses, or Ray actors on a cluster. The supervisor only sees their handles.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from autolearn.billing import charging as billing
from autolearn.db import Task, TaskEvent, TaskLog, Worker, session_scope
from autolearn.db.models import utcnow
from autolearn.scheduler.executors import Executor, SubmitError, WorkerHandle, make_executor
from autolearn.scheduler.executors.local import pid_alive
from autolearn.scheduler.queue import HOST, claim_next, queued_count, refuse_expired_groups
from autolearn.settings import get_settings
from autolearn.storage import open_store
from autolearn.tasks.results import LAST_KEY
from autolearn.tasks.states import ACTIVE, TERMINAL, Status

log = logging.getLogger("autolearn.supervisor")
HEARTBEAT_S = 2.0
WORKER_STALE_S = 15.0
BACKSTOP_KILL_GRACE_S = 5.0
LAUNCH_RETRY_S = (10.0, 300.0)  # first and longest pause after a launch failed (cluster down)
BILLING_WATCH_S = 2.0  # how often running tasks' freezes are checked against their cost


def time_tolerance(limit_s: float) -> float:
    """How far past the limit a task may end: max(5 %, 30 s)."""
    return max(0.05 * limit_s, 30.0)


class Supervisor:
    """Runs tasks of one region in worker processes, ``slots`` at a time."""

    def __init__(
        self,
        region: str = "local",
        slots: int | None = None,
        idle_exit_s: float | None = None,
        engine: Engine | None = None,
        poll_s: float = 0.5,
        executor: Executor | None = None,
    ) -> None:
        settings = get_settings()
        self.region, self.engine, self.poll_s = region, engine, poll_s
        self.slots = slots or settings.local_slots
        self.idle_exit_s = idle_exit_s
        self.grace_s = settings.stop_grace_s
        self.executor = executor or make_executor(settings)
        self.handles: dict[int, WorkerHandle] = {}
        self.limit_hit: set[int] = set()
        self.worker_id: int | None = None
        self._running = True
        self._beat_at = 0.0
        self._recovered_at = 0.0
        self._launch_paused_until = 0.0
        self._launch_failures = 0
        self._billed_at = 0.0

    # -- lifecycle -------------------------------------------------------------------
    def run(self) -> None:
        """Loop until signalled, or idle for ``idle_exit_s`` (when set)."""
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._signal)
            signal.signal(signal.SIGINT, self._signal)
        self._register()
        idle_since = time.monotonic()
        try:
            while self._running:
                self.tick()
                if self.handles or queued_count(self.region, self.engine):
                    idle_since = time.monotonic()
                elif (
                    self.idle_exit_s is not None
                    and time.monotonic() - idle_since >= self.idle_exit_s
                ):
                    log.info("queue idle for %.0f s; exiting", self.idle_exit_s)
                    break
                time.sleep(self.poll_s)
        finally:
            self._unregister()

    def _signal(self, *_: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Leave the loop after the current tick; running workers are left running."""
        self._running = False

    def tick(self) -> None:
        now = time.monotonic()
        if now - self._beat_at >= HEARTBEAT_S:
            self._beat_at = now
            self._heartbeat()
        if now - self._recovered_at >= 5.0:
            self._recovered_at = now
            self.recover()
        self.reap()
        if now - self._billed_at >= BILLING_WATCH_S:
            self._billed_at = now
            self.watch_billing()
        self.enforce()
        self.launch()

    # -- registration ----------------------------------------------------------------
    def _register(self) -> None:
        with session_scope(self.engine) as s:
            row = Worker(host=HOST, pid=os.getpid(), region=self.region, slots=self.slots)
            s.add(row)
            s.flush()
            self.worker_id = row.id
        self.executor.owner = self.worker_id

    def _heartbeat(self) -> None:
        with session_scope(self.engine) as s:
            row = s.get(Worker, self.worker_id) if self.worker_id else None
            if row is not None:
                row.heartbeat_at = utcnow()

    def _unregister(self) -> None:
        if self.worker_id is not None:
            with session_scope(self.engine) as s:
                s.execute(delete(Worker).where(Worker.id == self.worker_id))

    # -- the work --------------------------------------------------------------------
    def launch(self) -> None:
        while len(self.handles) < self.slots and time.monotonic() >= self._launch_paused_until:
            task_id = claim_next(self.region, self.engine)
            if task_id is None:
                return
            self._start(task_id)

    def _start(self, task_id: int) -> None:
        """Hand a claimed task to the executor; a task it can never run is SUBMIT_FAILED,
        one it cannot start now (the cluster is down) goes back to the queue."""
        with session_scope(self.engine) as s:
            task = s.get(Task, task_id)
            resources = dict(task.spec.get("resources") or {}) if task is not None else {}
        try:
            _check_placement(self.region, resources)
            handle = self.executor.launch(task_id, resources)
        except SubmitError as exc:
            self._finish_unstarted(task_id, Status.SUBMIT_FAILED, str(exc))
            return
        except Exception as exc:  # not the task's fault: retry it later, less and less often
            log.exception("could not start a worker for task %d", task_id)
            first, longest = LAUNCH_RETRY_S
            pause = min(first * 2**self._launch_failures, longest)
            self._launch_failures += 1
            self._launch_paused_until = time.monotonic() + pause
            message = (
                f"could not start a worker ({exc}); back in the queue, retried in {pause:.0f} s"
            )
            self._finish_unstarted(task_id, Status.QUEUED, message)
            return
        self._launch_failures = 0
        self.handles[task_id] = handle
        with session_scope(self.engine) as s:
            task = s.get(Task, task_id)
            if task is not None and task.pid is None:
                task.pid = handle.pid
            for note in handle.notes:
                s.add(TaskLog(task_id=task_id, level="WARNING", message=note))
        log.info("task %d started in %s", task_id, handle.describe())

    def _finish_unstarted(self, task_id: int, status: Status, message: str) -> None:
        with session_scope(self.engine) as s:
            task = s.get(Task, task_id)
            if task is None:
                return
            level = "ERROR" if status is Status.SUBMIT_FAILED else "WARNING"
            s.add(TaskLog(task_id=task_id, level=level, message=message))
            if status is Status.QUEUED:
                task.status = Status.QUEUED.value
                s.add(TaskEvent(task_id=task_id, kind="status", data={"status": "QUEUED"}))
            else:
                self._end(s, task, status, None, message)
                billing.settle(s, task, task_id)

    def enforce(self) -> None:
        """Deliver stop requests and the hard time-limit backstop."""
        if not self.handles:
            return
        with session_scope(self.engine) as s:
            rows = {t.id: t for t in s.scalars(select(Task).where(Task.id.in_(self.handles)))}
            for task_id, handle in self.handles.items():
                task = rows.get(task_id)
                if task is None:
                    continue
                limit = float(task.plan.get("max_duration_s", 3600))
                over = time.monotonic() - handle.started - limit - time_tolerance(limit) + 3
                if over > 0 and task_id not in self.limit_hit:
                    self.limit_hit.add(task_id)
                    s.add(
                        TaskLog(
                            task_id=task_id,
                            level="WARNING",
                            message="time limit backstop: ending the worker",
                        )
                    )
                if task.stop_requested or task_id in self.limit_hit:
                    handle.terminate()
                grace = BACKSTOP_KILL_GRACE_S if task_id in self.limit_hit else self.grace_s
                if handle.term_sent_at and time.monotonic() - handle.term_sent_at > grace:
                    handle.kill()

    def reap(self) -> None:
        """Record workers that exited; one that died without finishing is explained."""
        for task_id, handle in list(self.handles.items()):
            code = handle.poll()
            if code is None:
                continue
            del self.handles[task_id]
            try:
                self._settle(handle, code)
                self._charge(task_id)
            finally:
                handle.release()

    def _charge(self, task_id: int) -> None:
        """The worker is gone: settle the run time of a task that ended (a crash the
        platform requeues keeps its freeze: see ``_requeue_orphan``)."""
        with session_scope(self.engine) as s:
            task = s.get(Task, task_id)
            if task is not None and Status(task.status) in TERMINAL:
                billing.after_end(task)
                billing.settle(s, task, task_id)

    def watch_billing(self) -> None:
        """Arrears watchdog: top up or stop running pay-as-you-go tasks whose freeze is
        nearly spent; settle what ended unwatched; refuse tasks queued for an expired
        group."""
        try:
            with session_scope(self.engine) as s:
                for task_id in billing.watch(s, list(self.handles), self.grace_s + 10):
                    task = s.get(Task, task_id)
                    if task is not None and not task.stop_requested:
                        billing.mark_arrears(s, task)
            with session_scope(self.engine) as s:
                for task_id in billing.open_terminal(s):
                    if task_id not in self.handles:
                        billing.settle(s, s.get(Task, task_id), task_id)
            refuse_expired_groups(self.region, self.engine)
        except Exception:  # billing must never stop the queue; it retries next tick
            log.exception("billing watchdog failed")

    def _settle(self, handle: WorkerHandle, code: int) -> None:
        task_id = handle.task_id
        with session_scope(self.engine) as s:
            task = s.get(Task, task_id)
            if task is None or Status(task.status) not in ACTIVE:
                return  # the worker recorded its own ending
            if task_id in self.limit_hit:
                self._end(
                    s,
                    task,
                    Status.STOPPED,
                    "time_limit",
                    "ended at the time limit; model/model.pt holds the best checkpoint",
                )
            elif task.stop_requested or task.status == Status.STOPPING.value:
                self._end(s, task, Status.STOPPED, "user_stop", "stopped by request")
            else:
                self._end(s, task, Status.FAILED, None, self._death_message(s, task, code))
                for line in handle.log_tail():
                    s.add(TaskLog(task_id=task_id, level="ERROR", message=line))
        self.limit_hit.discard(task_id)

    def _death_message(self, s: Session, task: Task, code: int) -> str:
        how = (
            f"was killed by {signal.Signals(-code).name}"
            if code < 0
            else f"exited with code {code}"
        )
        if not open_store(task.output_uri).exists(LAST_KEY):
            return f"worker process {how}; `autolearn task resume {task.id}` starts it again"
        epochs = s.scalars(
            select(TaskEvent.epoch).where(TaskEvent.task_id == task.id, TaskEvent.kind == "epoch")
        ).all()
        last = max((e for e in epochs if e is not None), default=0)
        return (
            f"worker process {how} during epoch {task.epoch}; `autolearn task resume {task.id}` "
            f"continues from the checkpoint of epoch {last}"
        )

    @staticmethod
    def _end(s: Session, task: Task, status: Status, reason: str | None, message: str) -> None:
        task.status, task.stop_reason, task.message = status.value, reason, message
        task.finished_at, task.pid, task.eta_s = utcnow(), None, None
        s.add(
            TaskEvent(
                task_id=task.id,
                kind="status",
                data={"status": status.value, "stop_reason": reason, "message": message},
            )
        )

    def recover(self) -> None:
        """Adopt live workers that nobody watches; requeue dead ones; let the executor
        tidy what finished tasks left behind.

        Liveness is the executor's answer: a PID on this host for local workers, the
        cluster's named actors for Ray (whose workers run on other hosts). A task just
        claimed (STARTING, fresh heartbeat) may not have a worker yet and is left alone.
        """
        stale = utcnow() - timedelta(seconds=WORKER_STALE_S * 2)
        with session_scope(self.engine) as s:
            query = select(Task).where(
                Task.status.in_([x.value for x in ACTIVE]), Task.region == self.region
            )
            if self.executor.host_bound:
                query = query.where(Task.host == HOST)
            active = list(s.scalars(query))
            tasks = [t for t in active if t.id not in self.handles]
            live = self._live_supervisors(s)
            try:
                alive = self.executor.adopt(tasks, live) if tasks else {}
                self.executor.sweep({t.id for t in active}, live)
            except Exception as exc:  # the cluster did not answer: judge nothing this time
                log.warning("could not ask the executor which workers are alive: %s", exc)
                return
            for task in tasks:
                if task.id in alive:
                    self._adopt(task.id, alive[task.id])
                elif not _just_claimed(task, stale):
                    self._requeue_orphan(s, task)

    def _adopt(self, task_id: int, handle: WorkerHandle | None) -> None:
        if handle is None:
            return  # another live supervisor watches it
        self.handles[task_id] = handle
        log.info("adopted the running worker of task %d (%s)", task_id, handle.describe())

    def _live_supervisors(self, s: Session) -> set[int]:
        """IDs of queue workers (this one included) whose heartbeat is fresh."""
        fresh = utcnow() - timedelta(seconds=WORKER_STALE_S)
        rows = s.execute(select(Worker.id, Worker.heartbeat_at)).all()
        live = {wid for wid, beat in rows if _aware(beat, fresh) > fresh}
        if self.worker_id is not None:
            live.add(self.worker_id)
        return live

    @staticmethod
    def _requeue_orphan(s: Session, task: Task) -> None:
        if task.stop_requested or task.status == Status.STOPPING.value:
            Supervisor._end(s, task, Status.STOPPED, "user_stop", "stopped (worker gone)")
            return
        task.status, task.resume, task.pid = Status.QUEUED.value, True, None
        billing.credit_crash(s, task.id)  # the lost time is redone, and charged once
        s.add(
            TaskLog(
                task_id=task.id,
                level="WARNING",
                message="its worker died while the queue was down: resuming from the "
                "last checkpoint",
            )
        )
        s.add(
            TaskEvent(
                task_id=task.id,
                kind="status",
                data={"status": Status.QUEUED.value, "recovered": True},
            )
        )


def _check_placement(region: str, resources: dict[str, object]) -> None:
    """A spec the catalogue lacks or this region does not offer can never start here."""
    from autolearn.billing.catalog import CatalogError, get_catalog

    try:
        get_catalog().check_placement(region, str(resources.get("spec", "cpu-2c8g")))
    except CatalogError as exc:
        raise SubmitError(str(exc)) from None


def _aware(value: datetime, like: datetime) -> datetime:
    """SQLite gives naive datetimes (stored as UTC); PostgreSQL gives aware ones."""
    return value if value.tzinfo else value.replace(tzinfo=like.tzinfo)


def _just_claimed(task: Task, stale: datetime) -> bool:
    """STARTING with a fresh heartbeat: a supervisor is starting its worker right now."""
    beat = task.heartbeat_at
    return task.status == Status.STARTING.value and beat is not None and _aware(beat, stale) > stale


def live_worker(region: str, engine: Engine | None = None) -> int | None:
    """PID of a live queue worker for ``region`` (stale rows are cleaned up)."""
    fresh = utcnow() - timedelta(seconds=WORKER_STALE_S)
    with session_scope(engine) as s:
        for row in s.scalars(select(Worker).where(Worker.region == region)):
            beat = _aware(row.heartbeat_at, fresh)
            alive = pid_alive(row.pid) if row.host == HOST else beat > fresh
            if alive and beat > fresh:
                return row.pid
            if not alive:
                s.delete(row)
    return None


def ensure_worker(region: str = "local", engine: Engine | None = None) -> int | None:
    """Start a detached queue worker unless one is alive; returns the new PID or None.

    The embedded default: with no server running, ``task create`` calls this so one
    command trains a model, and the worker outlives the CLI."""
    if live_worker(region, engine) is not None:
        return None
    settings = get_settings()
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    log_path: Path = settings.logs_dir / "worker.log"
    with log_path.open("ab") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "autolearn.cli.main",
                "worker",
                "--region",
                region,
                "--idle-exit",
                str(settings.worker_idle_exit_s),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and live_worker(region, engine) is None:
        if proc.poll() is not None:
            raise RuntimeError(
                f"the queue worker exited at once (code {proc.returncode}); see {log_path}"
            )
        time.sleep(0.1)
    return proc.pid
