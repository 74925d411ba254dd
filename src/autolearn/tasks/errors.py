"""What can go wrong with a task request. A leaf module, so that every part of tasks/
(planning, listing, copy and delete) raises the same errors without importing the
service, and the faces (api/errors.py, the CLI) map them to codes and exit statuses."""

from __future__ import annotations


class TaskError(ValueError):
    """A request about a task that cannot be done as asked; the message says what to fix."""


class TaskNotFoundError(TaskError, LookupError):
    """No task with that ID."""


class TaskStateError(TaskError):
    """The task exists but its status does not allow the action (stop a finished task)."""


class ModelNotFoundError(TaskNotFoundError):
    """The task exists but has no trained model (yet)."""


class EvaluationNotFoundError(TaskNotFoundError):
    """The task exists but has no evaluation report (yet)."""
