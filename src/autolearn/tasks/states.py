"""Task and billing statuses (the seed platform's names) and the allowed moves.

Kept in tasks/ (not scheduler/) because creating and stopping tasks needs them and
tasks/ must never import the scheduler.
"""

from __future__ import annotations

from enum import Enum


class Status(str, Enum):
    QUEUED = "QUEUED"
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    STOPPING = "STOPPING"
    STOPPED = "STOPPED"
    FAILED = "FAILED"
    SUCCEED = "SUCCEED"
    SUBMIT_FAILED = "SUBMIT_FAILED"


class BillingStatus(str, Enum):
    NOT_BILLING = "NOT_BILLING"
    BILLING = "BILLING"
    ARREARS_STOP = "ARREARS_STOP"


ACTIVE = frozenset({Status.STARTING, Status.RUNNING, Status.STOPPING})
TERMINAL = frozenset({Status.STOPPED, Status.FAILED, Status.SUCCEED, Status.SUBMIT_FAILED})
RESUMABLE = frozenset({Status.STOPPED, Status.FAILED})
STOPPABLE = frozenset({Status.QUEUED, Status.STARTING, Status.RUNNING})

TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.QUEUED: frozenset({Status.STARTING, Status.STOPPED, Status.SUBMIT_FAILED}),
    Status.STARTING: frozenset(
        {
            Status.RUNNING,
            Status.STOPPING,
            Status.FAILED,
            Status.QUEUED,
            Status.STOPPED,
            Status.SUBMIT_FAILED,  # the executor cannot place it (unknown resource spec)
        }
    ),
    Status.RUNNING: frozenset(
        {Status.STOPPING, Status.SUCCEED, Status.FAILED, Status.STOPPED, Status.QUEUED}
    ),
    Status.STOPPING: frozenset({Status.STOPPED, Status.SUCCEED, Status.FAILED}),
    Status.STOPPED: frozenset({Status.QUEUED}),
    Status.FAILED: frozenset({Status.QUEUED}),
    Status.SUCCEED: frozenset(),
    Status.SUBMIT_FAILED: frozenset(),
}


def can_move(current: str, target: str) -> bool:
    """Whether a task in ``current`` may move to ``target``."""
    return Status(target) in TRANSITIONS[Status(current)]
