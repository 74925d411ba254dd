"""Executors start the one worker entrypoint somewhere: a local subprocess, or a Ray actor
that runs the same subprocess on a cluster node. The supervisor sees only these two
protocols, so it claims, stops, times out and recovers tasks the same way on both.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from autolearn.db import Task
    from autolearn.settings import Settings


class SubmitError(RuntimeError):
    """This task can never be placed (an unknown resource spec, say): SUBMIT_FAILED."""


class WorkerHandle(Protocol):
    """One running worker, as the supervisor watches it."""

    task_id: int
    started: float  # time.monotonic() when it started (the time-limit backstop counts from it)
    term_sent_at: float | None
    notes: list[str]  # what the task's log should say about where it runs (or waits)

    @property
    def pid(self) -> int | None:
        """The worker's process ID where this host can signal it; None on a cluster node."""

    def poll(self) -> int | None:
        """Exit code (negative: killed by that signal), or None while it runs."""

    def terminate(self) -> None:
        """Ask the worker to stop after the current step (SIGTERM), once."""

    def kill(self) -> None:
        """End the worker now (SIGKILL)."""

    def release(self) -> None:
        """Free what the executor holds for this worker after it exited."""

    def log_tail(self, lines: int = 15) -> list[str]:
        """The last output lines of the worker process (for a death message)."""

    def describe(self) -> str:
        """Where it runs, for logs: 'pid 123' or 'Ray actor task-5-…'."""


class Executor(Protocol):
    """Starts workers and finds the ones a previous queue worker left running."""

    #: True when a worker's liveness is only known on the host that started it (local
    #: subprocesses); False when the cluster answers for any host (Ray).
    host_bound: bool
    #: The ``workers`` row ID of the supervisor using it (set once registered).
    owner: int | None

    def launch(self, task_id: int, resources: Mapping[str, Any]) -> WorkerHandle:
        """Start the worker of a claimed task; ``resources`` is its spec's section.

        Raises :class:`SubmitError` when the task can never run here."""
        ...

    def adopt(
        self, tasks: Sequence[Task], live_supervisors: Collection[int]
    ) -> Mapping[int, WorkerHandle | None]:
        """The tasks among ``tasks`` whose worker is alive: a handle to watch it, or None
        when a live supervisor (a ``workers`` row ID) already does."""
        ...

    def sweep(self, active_task_ids: Collection[int], live_supervisors: Collection[int]) -> None:
        """Release what finished tasks left behind (Ray actors of a dead supervisor)."""
        ...

    def close(self) -> None: ...


def make_executor(settings: Settings) -> Executor:
    """The executor that ``settings.executor`` names."""
    if settings.executor == "ray":
        from autolearn.scheduler.executors.ray import RayExecutor

        return RayExecutor(settings)
    from autolearn.scheduler.executors.local import LocalExecutor

    return LocalExecutor(settings.logs_dir)
