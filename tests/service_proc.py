"""What the throwaway servers of the test suite (PostgreSQL, SeaweedFS S3, a Ray head)
share: free ports, whether a pid lives, a stop with a grace period, and a ``preexec_fn``
that ties a server's life to the test process."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
from collections.abc import Callable
from typing import Any, TypeVar


def _load_libc() -> Any:
    """libc, loaded in the parent: a child switched to another user (PostgreSQL's) may not
    be allowed to read the Python installation (under /root) to import ctypes itself."""
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


_LIBC = _load_libc()
_PR_SET_PDEATHSIG = 1


def free_ports(n: int) -> list[int]:
    """``n`` distinct ports that were free on 127.0.0.1 a moment ago."""
    sockets = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def free_port() -> int:
    return free_ports(1)[0]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_process(
    proc: subprocess.Popen[bytes], grace: float, first: signal.Signals = signal.SIGTERM
) -> None:
    """``first`` (SIGTERM, or SIGINT for PostgreSQL's fast shutdown), SIGKILL after
    ``grace`` seconds."""
    if proc.poll() is not None:
        return
    proc.send_signal(first)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=30)


def die_with_parent(sig: signal.Signals) -> Callable[[], None] | None:
    """A ``preexec_fn`` (Linux): the child gets its own session (Ctrl-C in the terminal
    goes to pytest, which then stops it cleanly) and ``sig`` when the test process dies
    without cleaning up. It runs after a user switch, which would clear the setting."""
    if os.uname().sysname != "Linux":
        return None

    def hook() -> None:  # pragma: no cover - runs in the child
        os.setsid()
        if _LIBC is not None:
            with contextlib.suppress(AttributeError):
                _LIBC.prctl(_PR_SET_PDEATHSIG, sig)

    return hook


T = TypeVar("T")


def start_with_retries(
    start: Callable[[], T], attempts: int, early_exit: type[Exception], what: str
) -> T:
    """``start()`` again (it picks fresh ports) while it fails with ``early_exit``: a port
    taken between choosing and binding it. Raises ``early_exit`` after ``attempts``."""
    last: Exception | None = None
    for _ in range(attempts):
        try:
            return start()
        except early_exit as exc:
            last = exc
    raise early_exit(f"{what} did not start after {attempts} attempts: {last}")
