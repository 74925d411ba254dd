"""A throwaway local Ray head for the test suite (DESIGN.md §3, like ``s3_server.py``).

``start_ray_head()`` runs ``ray start --head --block`` on 127.0.0.1 with free ports,
its own short ``--temp-dir`` (unix socket paths must stay under ~107 characters),
two logical CPUs, no dashboard and no usage stats, waits until it is up and returns a
``RayHead``; ``RayHead.stop()`` sends SIGTERM to that one ``ray start`` process, which
ends the processes it started (never ``ray stop``, which ends every Ray on the
machine), and removes the folder. ``--block`` also makes Ray spawn a reaper, so the
head dies with the test process even when that is SIGKILLed.

``RAY_ENV`` must be in the environment of every driver too (``ray.init``): the head
runs without token authentication and binds only 127.0.0.1.

Run it by hand with ``python tests/ray_server.py``: it prints the address and serves
until Ctrl-C.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from service_proc import die_with_parent, free_ports

RAY_ENV = {
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",  # or Ray binds the external interface
    "RAY_AUTH_MODE": "disabled",  # a test head has no token; drivers must agree
    "RAY_USAGE_STATS_ENABLED": "0",
}
READY = "Ray runtime started"
_PREFIX = "alray-"


class RayHeadError(RuntimeError):
    """The Ray head could not be found or started."""


def find_ray() -> str | None:
    """The ``ray`` command beside this Python (the venv's), or on ``PATH``."""
    for folder in (Path(sysconfig.get_path("scripts")), Path(sys.executable).parent):
        candidate = folder / "ray"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("ray")


@dataclass
class RayHead:
    """A running Ray head; ``stop()`` ends it and removes its folder."""

    address: str  # GCS host:port, what ``ray.init(address=...)`` takes
    temp_dir: Path
    process: subprocess.Popen[bytes]
    num_cpus: int
    startup_s: float = 0.0

    @property
    def log_path(self) -> Path:
        return self.temp_dir / "ray-start.log"

    def log_tail(self, lines: int = 40) -> str:
        """The ``ray start`` output and the end of the raylet's and GCS's logs."""
        parts = []
        logs = [self.log_path, *sorted(self.temp_dir.glob("session_*/logs/raylet.out"))]
        logs += sorted(self.temp_dir.glob("session_*/logs/gcs_server.out"))
        for path in logs:
            try:
                text = path.read_text(errors="replace").splitlines()[-lines:]
            except OSError:
                continue
            parts.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(parts)

    def stop(self, grace: float = 30.0) -> None:
        """SIGTERM to ``ray start --block`` (it ends its own processes), then SIGKILL to
        its process group; removes the folder."""
        proc = self.process
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                _kill_group(proc.pid)
                proc.wait(timeout=30)
        _kill_group(proc.pid)  # anything of its session it left behind
        atexit.unregister(self.stop)
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def reap_stale_heads() -> None:
    """Remove the folders of earlier runs whose ``ray start`` is gone (its reaper ended
    the processes; nobody removed the folder)."""
    for folder in Path("/tmp").glob(f"{_PREFIX}*"):
        try:
            pid = int((folder / "ray-start.pid").read_text())
        except (OSError, ValueError):
            continue  # still starting, or not ours
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:
            pass


def start_ray_head(num_cpus: int = 2, memory_gib: int = 16, timeout: float = 120.0) -> RayHead:
    """Start the head and wait for ``ray start`` to report it up.

    ``memory_gib`` is Ray's logical memory resource (what tasks may reserve), fixed so
    that a ``cpu-2c8g`` task fits whatever this machine has.
    """
    ray = find_ray()
    if ray is None:
        raise RayHeadError("the `ray` command was not found: pip install 'ray[default]'")
    reap_stale_heads()
    temp_dir = Path(tempfile.mkdtemp(prefix=_PREFIX, dir="/tmp"))
    names = ["gcs", "node_manager", "object_manager", "client", "agent", "agent_grpc"]
    names += ["metrics", "runtime_env", "dashboard"]
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    cmd = [
        ray,
        "start",
        "--head",
        "--block",
        "--node-ip-address=127.0.0.1",
        f"--port={ports['gcs']}",
        f"--node-manager-port={ports['node_manager']}",
        f"--object-manager-port={ports['object_manager']}",
        f"--ray-client-server-port={ports['client']}",
        f"--dashboard-agent-listen-port={ports['agent']}",
        f"--dashboard-agent-grpc-port={ports['agent_grpc']}",
        f"--metrics-export-port={ports['metrics']}",
        f"--runtime-env-agent-port={ports['runtime_env']}",
        f"--dashboard-port={ports['dashboard']}",
        "--include-dashboard=false",
        "--disable-usage-stats",
        f"--num-cpus={num_cpus}",
        "--num-gpus=0",
        f"--memory={memory_gib * 1024**3}",
        "--object-store-memory=100000000",
        f"--temp-dir={temp_dir}",
    ]
    log = (temp_dir / "ray-start.log").open("wb")
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            cmd,
            env={**os.environ, **RAY_ENV},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent(signal.SIGTERM),
        )
    finally:
        log.close()
    (temp_dir / "ray-start.pid").write_text(str(proc.pid))
    head = RayHead(f"127.0.0.1:{ports['gcs']}", temp_dir, proc, num_cpus)
    atexit.register(head.stop)
    try:
        _wait_ready(head, timeout)
    except BaseException:
        head.stop()
        raise
    head.startup_s = time.monotonic() - started
    return head


def _wait_ready(head: RayHead, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if head.process.poll() is not None:
            raise RayHeadError(
                f"`ray start` exited with code {head.process.returncode}:\n{head.log_tail()}"
            )
        if READY in head.log_path.read_text(errors="replace"):
            return
        time.sleep(0.2)
    raise RayHeadError(f"the Ray head did not start within {timeout:.0f}s:\n{head.log_tail()}")


if __name__ == "__main__":
    os.environ.update(RAY_ENV)
    srv = start_ray_head()
    print(f"AUTOLEARN_RAY_ADDRESS={srv.address}")
    print(
        f"# started in {srv.startup_s:.1f}s; drivers need: "
        + " ".join(f"{k}={v}" for k, v in RAY_ENV.items())
    )
    try:
        srv.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()
