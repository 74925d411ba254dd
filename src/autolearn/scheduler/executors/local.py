"""Local executor: each task in its own ``python -m autolearn.scheduler.worker`` process,
so stop and the time limit can always end it, whatever the training code is doing."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autolearn.db import Task


@dataclass
class Handle:
    """A running worker: a child we started (``proc``) or one adopted by PID."""

    task_id: int
    pid: int
    proc: subprocess.Popen[bytes] | None = None
    started: float = field(default_factory=time.monotonic)
    term_sent_at: float | None = None
    log_path: Path | None = None
    notes: list[str] = field(default_factory=list)

    def poll(self) -> int | None:
        """Exit code (negative = killed by that signal), or None while it runs."""
        if self.proc is not None:
            return self.proc.poll()
        return None if pid_alive(self.pid) else 0

    def signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        if self.term_sent_at is None:
            self.term_sent_at = time.monotonic()
            self.signal(signal.SIGTERM)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)

    def release(self) -> None:
        """Nothing to free: the process is gone and its log stays on disk."""

    def log_tail(self, lines: int = 15) -> list[str]:
        if self.log_path is None or not self.log_path.exists():
            return []
        text = self.log_path.read_text(errors="replace")
        return [ln for ln in text.splitlines()[-lines:] if ln.strip()]

    def describe(self) -> str:
        return f"pid {self.pid}"


def pid_alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        status = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        return status != "Z"
    except OSError:
        return True


class LocalExecutor:
    """Starts workers as child processes with their output in a per-task log file."""

    host_bound = True

    def __init__(self, logs_dir: Path) -> None:
        self.logs_dir = logs_dir
        self.owner: int | None = None
        logs_dir.mkdir(parents=True, exist_ok=True)

    def log_path(self, task_id: int) -> Path:
        return self.logs_dir / f"task-{task_id}.log"

    def launch(self, task_id: int, resources: Mapping[str, Any] | None = None) -> Handle:
        """Start the worker here with the spec's CPU/GPU counts in its environment (the
        queue worker's ``slots`` bound how many run); an unknown spec is a SubmitError."""
        from autolearn.scheduler.executors import SubmitError
        from autolearn.scheduler.resources import UnknownResourceSpec, local_env, request_for

        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if resources:
            try:
                request = request_for(
                    str(resources.get("spec", "cpu-2c8g")), int(resources.get("count", 1))
                )
            except (UnknownResourceSpec, ValueError) as exc:
                raise SubmitError(str(exc)) from None
            env.update(local_env(request))
        path = self.log_path(task_id)
        with path.open("ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "autolearn.scheduler.worker", str(task_id)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
            )
        return Handle(task_id=task_id, pid=proc.pid, proc=proc, log_path=path)

    def adopt(self, tasks: Sequence[Task], live_supervisors: Collection[int]) -> dict[int, Handle]:
        """Workers of this host that are still alive (the PID the worker wrote)."""
        from autolearn.scheduler.queue import HOST

        return {
            t.id: Handle(task_id=t.id, pid=t.pid, log_path=self.log_path(t.id))
            for t in tasks
            if t.host == HOST and t.pid and pid_alive(t.pid)
        }

    def sweep(self, active_task_ids: Collection[int], live_supervisors: Collection[int]) -> None:
        """Nothing outlives a local worker."""

    def close(self) -> None:
        """Nothing to disconnect."""
