"""Local executor: each task in its own ``python -m autolearn.scheduler.worker`` process,
so stop and the time limit can always end it, whatever the training code is doing."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Handle:
    """A running worker: a child we started (``proc``) or one adopted by PID."""

    task_id: int
    pid: int
    proc: subprocess.Popen[bytes] | None = None
    started: float = field(default_factory=time.monotonic)
    term_sent_at: float | None = None

    def poll(self) -> int | None:
        """Exit code (negative = killed by that signal), or None while it runs."""
        if self.proc is not None:
            return self.proc.poll()
        return None if pid_alive(self.pid) else 0

    def signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, sig)


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

    def __init__(self, logs_dir: Path) -> None:
        self.logs_dir = logs_dir
        logs_dir.mkdir(parents=True, exist_ok=True)

    def log_path(self, task_id: int) -> Path:
        return self.logs_dir / f"task-{task_id}.log"

    def launch(self, task_id: int) -> Handle:
        with self.log_path(task_id).open("ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "autolearn.scheduler.worker", str(task_id)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        return Handle(task_id=task_id, pid=proc.pid, proc=proc)

    @staticmethod
    def terminate(handle: Handle) -> None:
        if handle.term_sent_at is None:
            handle.term_sent_at = time.monotonic()
            handle.signal(signal.SIGTERM)

    @staticmethod
    def kill(handle: Handle) -> None:
        handle.signal(signal.SIGKILL)
