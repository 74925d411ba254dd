"""Ray executor: the same ``python -m autolearn.scheduler.worker TASK_ID`` on a cluster node.

Each task gets a detached, named Ray actor that reserves the task's resources (CPUs,
GPUs, memory from its resource spec) and runs the worker as a subprocess of its own.
An actor rather than a plain Ray task, because a stop must reach the worker while it
runs: ``terminate`` and ``kill`` are actor calls that signal the subprocess, exactly as
the local executor signals its child. Detached, so a queue worker that restarts finds
its running tasks again by name (``task-<id>-s<supervisor>-<nonce>``) in the namespace.

The worker reports through the database and the object store like everywhere else, so
a cluster needs shared ones: PostgreSQL and ``s3://``. Settings reach the node as the
subprocess's environment, passed with the actor (not in a runtime_env, which the Ray
dashboard shows). ``ray`` is imported only inside functions: the CLI and API must not
pay for it.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from autolearn.scheduler.executors import SubmitError
from autolearn.scheduler.resources import (
    GIB,
    ResourceRequest,
    UnknownResourceSpec,
    ray_options,
    request_for,
)

if TYPE_CHECKING:
    from autolearn.db import Task
    from autolearn.settings import Settings

log = logging.getLogger("autolearn.supervisor")

PREFIX = "task-"
NODE_ENV = "AUTOLEARN_RAY_NODE_ID"  # read by the worker to record where it ran
ACTOR_ENV = "AUTOLEARN_RAY_ACTOR"
PARENT_ENV = "AUTOLEARN_WORKER_PARENT_PID"  # the worker dies with this process
TAIL_LINES = 200
KILL_ESCALATE_S = 10.0  # a kill the actor did not carry out ends the actor itself
PLACED_WAIT_S = 2.0  # a placed actor answers a status call in milliseconds


class WorkerProcess:
    """Lives in the Ray actor on the node: starts the worker, relays signals, keeps the
    last lines of its output (which also go to the actor's stdout, i.e. Ray's logs)."""

    def __init__(self, task_id: int, env: dict[str, str]) -> None:
        import ray

        context = ray.get_runtime_context()
        self.node_id = context.get_node_id()
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)
        child_env = {
            **os.environ,
            **env,
            "PYTHONUNBUFFERED": "1",
            NODE_ENV: self.node_id,
            ACTOR_ENV: context.get_actor_name() or "",
            PARENT_ENV: str(os.getpid()),
        }
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "autolearn.scheduler.worker", str(task_id)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=child_env,
        )
        self.pump = threading.Thread(target=self._pump, name="worker-output", daemon=True)
        self.pump.start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace").rstrip()
            self.tail.append(line)
            print(line, flush=True)

    def status(self) -> dict[str, Any]:
        """Exit code (None while running), the worker's PID and node, seconds running."""
        return {
            "code": self.proc.poll(),
            "pid": self.proc.pid,
            "node_id": self.node_id,
            "host": socket.gethostname(),
            "running_s": time.monotonic() - self.started,
        }

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)  # a no-op once the process has been waited for

    def log_tail(self, lines: int) -> list[str]:
        if self.proc.poll() is not None:
            self.pump.join(timeout=2)  # the last lines may still be in the pipe
        return [ln for ln in list(self.tail)[-lines:] if ln.strip()]


@dataclass
class RayHandle:
    """The supervisor's side of one worker actor."""

    task_id: int
    name: str
    actor: Any
    # Not counting while Ray waits for resources: set from the worker's own clock when
    # the actor first answers (so the time-limit backstop measures the run only).
    started: float = math.inf
    term_sent_at: float | None = None
    notes: list[str] = field(default_factory=list)
    worker_pid: int | None = None
    node_id: str | None = None
    death: str | None = None
    _code: int | None = None
    _pending: Any = None
    _answered: bool = False
    _kill_sent_at: float | None = None

    @property
    def pid(self) -> int | None:
        """None: the worker may run on another machine; signals go through the actor."""
        return None

    def poll(self) -> int | None:
        """Non-blocking: one status call in flight at a time, read when it answered."""
        if self._code is not None:
            return self._code
        import ray
        from ray.exceptions import ActorUnavailableError, RayActorError

        if self._pending is None:
            self._pending = self.actor.status.remote()
        ready, _ = ray.wait([self._pending], timeout=0)
        if not ready:
            return None
        ref, self._pending = self._pending, None
        try:
            status = ray.get(ref)
        except ActorUnavailableError:
            return None  # a transient network problem; ask again next time
        except RayActorError as exc:
            self.death = f"its Ray actor {self.name} died: {exc}".splitlines()[0]
            self._code = -signal.SIGKILL
            return self._code
        self._note_status(status)
        self._code = status["code"]
        return self._code

    def _note_status(self, status: dict[str, Any]) -> None:
        if not self._answered:  # the clock starts when the worker did, not at submission
            self._answered = True
            self.started = time.monotonic() - float(status["running_s"])
        self.worker_pid, self.node_id = status["pid"], status["node_id"]

    def signal(self, sig: int) -> None:
        self.actor.signal.remote(sig)

    def terminate(self) -> None:
        """SIGTERM to the worker; an actor still waiting for resources has no worker to
        stop gracefully, so it is ended at once (the task ends STOPPED, not hanging)."""
        if self.term_sent_at is not None:
            return
        self.term_sent_at = time.monotonic()
        if self._placed(timeout=PLACED_WAIT_S):
            self.signal(signal.SIGTERM)
        else:
            self.release()

    def _placed(self, timeout: float) -> bool:
        """Whether the actor runs (its first status call answers within ``timeout``)."""
        if self._answered or self._code is not None:
            return True
        import ray

        if self._pending is None:
            self._pending = self.actor.status.remote()
        ready, _ = ray.wait([self._pending], timeout=timeout)
        return bool(ready)

    def kill(self) -> None:
        """SIGKILL through the actor; if that did not end it, end the actor (its worker
        dies with it)."""
        now = time.monotonic()
        if self._kill_sent_at is None:
            self._kill_sent_at = now
            self.signal(signal.SIGKILL)
        elif now - self._kill_sent_at > KILL_ESCALATE_S:
            self.release()

    def release(self) -> None:
        import ray

        with contextlib.suppress(Exception):
            ray.kill(self.actor, no_restart=True)

    def log_tail(self, lines: int = 15) -> list[str]:
        import ray

        if self.death:
            return [self.death]
        try:
            tail: list[str] = ray.get(self.actor.log_tail.remote(lines), timeout=10)
        except Exception as exc:  # the actor is gone: say so instead of the tail
            return [f"no output from Ray actor {self.name}: {type(exc).__name__}"]
        return tail

    def describe(self) -> str:
        where = f" on node {self.node_id[:12]}" if self.node_id else ""
        return f"Ray actor {self.name}{where}"


def actor_name(task_id: int, owner: int | None) -> str:
    return f"{PREFIX}{task_id}-s{owner or 0}-{secrets.token_hex(3)}"


def parse_actor_name(name: str) -> tuple[int, int] | None:
    """``task-<id>-s<owner>-<nonce>`` → (task id, owner), or None if not ours."""
    parts = name.split("-")
    if len(parts) != 4 or f"{parts[0]}-" != PREFIX or not parts[2].startswith("s"):
        return None
    try:
        return int(parts[1]), int(parts[2][1:])
    except ValueError:
        return None


def worker_env(settings: Settings) -> dict[str, str]:
    """The supervisor's settings as ``AUTOLEARN_*`` variables for the worker.

    ``home`` is passed only when it was set explicitly: a node's own default home is a
    better place than a path that exists on the supervisor's machine only.
    """
    from pydantic import SecretStr

    env = {}
    for name in type(settings).model_fields:
        if name == "home" and "AUTOLEARN_HOME" not in os.environ:
            continue
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        env[f"AUTOLEARN_{name.upper()}"] = str(value)
    return env


class RayExecutor:
    """Submits workers to the Ray cluster at ``settings.ray_address``."""

    host_bound = False

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.namespace = settings.ray_namespace
        self.owner: int | None = None
        self._connected = False
        self._warn_local_state()

    def _warn_local_state(self) -> None:
        local = [
            what
            for what, local in (
                ("a SQLite database", self.settings.database_url.startswith("sqlite")),
                ("file:// storage", self.settings.storage_url.startswith("file:")),
            )
            if local
        ]
        if local:
            log.warning(
                "executor=ray with %s: only nodes that share this machine's disk can run "
                "tasks; a cluster needs PostgreSQL and s3:// (docs/cluster.md)",
                " and ".join(local),
            )

    def _ray(self) -> Any:
        """The ``ray`` module, connected to the cluster (once)."""
        import ray

        if not ray.is_initialized():
            ray.init(
                address=self.settings.ray_address,
                namespace=self.namespace,
                log_to_driver=False,  # workers report through the database
                logging_level=logging.WARNING,
            )
            self._connected = True
        return ray

    def launch(self, task_id: int, resources: Mapping[str, Any]) -> RayHandle:
        """Create the task's actor; Ray starts it once a node has the resources."""
        try:
            request = request_for(
                str(resources.get("spec", "cpu-2c8g")), int(resources.get("count", 1))
            )
        except (UnknownResourceSpec, ValueError) as exc:
            raise SubmitError(str(exc)) from None
        ray = self._ray()
        name = actor_name(task_id, self.owner)
        options = ray_options(request, self.settings.ray_match_gpu_model)
        actor = (
            ray.remote(WorkerProcess)
            .options(
                name=name,
                namespace=self.namespace,
                lifetime="detached",
                max_restarts=0,
                max_task_retries=0,
                **options,
            )
            .remote(task_id, worker_env(self.settings))
        )
        handle = RayHandle(task_id=task_id, name=name, actor=actor)
        gap = self.placement_gap(request)
        if gap:
            handle.notes.append(gap)
        return handle

    def placement_gap(self, request: ResourceRequest) -> str | None:
        """Why no live node can take ``request`` now (it waits for one), or None."""
        nodes = [n for n in self._ray().nodes() if n.get("Alive")]
        wanted = _resource_keys(request, self.settings.ray_match_gpu_model)
        for node in nodes:
            have = node.get("Resources", {})
            if all(have.get(key, 0) >= amount for key, amount in wanted.items()):
                return None
        need = ", ".join(_show(key, amount) for key, amount in wanted.items())
        return (
            f"no node of the Ray cluster has {need} for resource spec {request.spec} "
            f"x{request.count}; the task waits until one joins"
        )

    def _named_actors(self) -> list[tuple[str, int, int]]:
        """(name, task id, owner) of this namespace's worker actors."""
        ray = self._ray()
        found = []
        for entry in ray.util.list_named_actors(all_namespaces=True):
            if entry.get("namespace") != self.namespace:
                continue
            parsed = parse_actor_name(entry.get("name", ""))
            if parsed is not None:
                found.append((entry["name"], *parsed))
        return found

    def adopt(
        self, tasks: Sequence[Task], live_supervisors: Collection[int]
    ) -> dict[int, RayHandle | None]:
        """Live actors of ``tasks``: a handle when their supervisor is gone, None when a
        live one watches them."""
        wanted = {t.id for t in tasks}
        found: dict[int, RayHandle | None] = {}
        for name, task_id, owner in self._named_actors():
            if task_id not in wanted or found.get(task_id) is not None:
                continue
            if owner in live_supervisors and owner != self.owner:
                found.setdefault(task_id, None)
                continue
            try:
                actor = self._ray().get_actor(name, namespace=self.namespace)
            except ValueError:  # it ended since the listing
                continue
            found[task_id] = RayHandle(task_id=task_id, name=name, actor=actor)
        return found

    def sweep(self, active_task_ids: Collection[int], live_supervisors: Collection[int]) -> None:
        """End actors left by dead supervisors for tasks that have finished."""
        ray = self._ray()
        for name, task_id, owner in self._named_actors():
            if task_id in active_task_ids or owner in live_supervisors:
                continue
            with contextlib.suppress(ValueError):
                ray.kill(ray.get_actor(name, namespace=self.namespace), no_restart=True)
                log.info("ended Ray actor %s (task %d has finished)", name, task_id)

    def close(self) -> None:
        """Disconnect from the cluster if we connected; running actors go on."""
        if self._connected:
            import ray

            ray.shutdown()
            self._connected = False


def _resource_keys(request: ResourceRequest, match_gpu_model: bool) -> dict[str, float]:
    """The request in Ray's node resource names (memory in bytes)."""
    keys: dict[str, float] = {"CPU": request.cpus, "memory": float(request.memory_bytes)}
    if request.gpus:
        keys["GPU"] = float(request.gpus)
        if request.gpu_model and match_gpu_model:
            keys[f"accelerator_type:{request.gpu_model}"] = 0.001
    return keys


def _show(key: str, amount: float) -> str:
    if key == "memory":
        return f"{amount / GIB:g} GiB memory"
    if key.startswith("accelerator_type:"):
        return f"a {key.split(':', 1)[1]} GPU"
    return f"{amount:g} {key}"
