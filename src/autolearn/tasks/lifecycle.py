"""Copying and deleting tasks: the two actions that make or remove a task from another
one rather than from a form. Both build on the service (a copy is created like any task;
a delete finds the row as the service does), which is why they live beside it rather
than inside it."""

from __future__ import annotations

import copy
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, delete, select, update
from sqlalchemy.orm import Session

from autolearn.accounts.principal import Principal
from autolearn.db import Task, TaskEvent, TaskLog, session_scope
from autolearn.db.models import ModelVersion
from autolearn.tasks.errors import TaskStateError
from autolearn.tasks.parsing import merge_spec, parse_spec
from autolearn.tasks.results import remove_outputs
from autolearn.tasks.service import DELETING, create_task, task_row
from autolearn.tasks.states import TERMINAL, Status


def copy_task(
    task_id: int,
    name: str | None = None,
    overrides: dict[str, Any] | None = None,
    engine: Engine | None = None,
    actor: Principal | None = None,
) -> dict[str, Any]:
    """Queue a new task (owned by ``actor``) from another's form, as the console's "copy
    task" does: the same pinned data version and settings, ``overrides`` merged in
    (``{"model": {"hyperparams": {"epochs": 5}}}``). The copy writes to a new folder
    unless ``overrides`` name an output path: sharing one would mix two runs' checkpoints.
    """
    with session_scope(engine) as s:
        original = task_row(s, task_id, actor)
        spec = copy.deepcopy(original.spec)
        default_name = _copy_name(original.name)
    spec.setdefault("output", {})["path"] = None
    spec.setdefault("basic", {})["name"] = default_name
    merged = merge_spec(spec, overrides or {})
    if name:
        merged = merge_spec(merged, {"basic": {"name": name}})
    return create_task(parse_spec(merged, f"copy of task {task_id}"), engine, actor)


def _copy_name(name: str, limit: int = 64) -> str:
    """``name-copy``, within the form's name length."""
    suffix = "-copy"
    return name[: limit - len(suffix)] + suffix


def delete_task(
    task_id: int, engine: Engine | None = None, actor: Principal | None = None
) -> dict[str, Any]:
    """Remove a finished task: its artifacts, then its events, logs and row.

    The row is marked first (``stop_reason`` ``deleting``: it cannot be resumed, its
    model and report are no longer listed), then the folder goes, then the rows. If
    removing the folder fails, the marked row stays so that a second delete finishes;
    removing the row first would free its id (SQLite reuses the highest one) and a new
    task could then resume from the old folder's checkpoint.
    """
    with session_scope(engine) as s:
        task = task_row(s, task_id, actor, lock=True)
        _check_deletable(s, task)
        task.stop_reason, task.metrics = DELETING, {}
        output_uri, own_folder = task.output_uri, not (task.spec.get("output") or {}).get("path")
        name = task.name
    removed = remove_outputs(output_uri, whole_folder=own_folder)
    with session_scope(engine) as s:
        # Published versions are copies that outlive their task; they keep its id in
        # their model card.
        s.execute(update(ModelVersion).where(ModelVersion.task_id == task_id).values(task_id=None))
        s.execute(delete(TaskEvent).where(TaskEvent.task_id == task_id))
        s.execute(delete(TaskLog).where(TaskLog.task_id == task_id))
        gone = s.execute(delete(Task).where(Task.id == task_id, Task.stop_reason == DELETING))
        if cast(CursorResult[Any], gone).rowcount != 1:
            raise TaskStateError(f"task {task_id} changed while it was being deleted; try again")
    return {
        "id": task_id,
        "name": name,
        "deleted": True,
        "output_uri": output_uri,
        "removed_objects": removed,
    }


def active_refusal(task_id: int, status: str) -> str | None:
    """Why a task in ``status`` cannot be deleted yet, or None once it is over. Public so
    that the CLI can refuse before it asks "delete?", in the service's words."""
    if Status(status) in TERMINAL:
        return None
    return (
        f"task {task_id} is {status}; stop it first (POST /api/v1/tasks/{task_id}/stop "
        f"or `autolearn task stop {task_id}`) and delete it once it is STOPPED"
    )


def _check_deletable(s: Session, task: Task) -> None:
    """Only a task that is over may go, and not while another task still needs its
    model (an incremental task that has not succeeded yet starts from it)."""
    refusal = active_refusal(task.id, task.status)
    if refusal:
        raise TaskStateError(refusal)
    base = Task.spec[("data", "incremental", "base_task")].as_integer()
    enabled = Task.spec[("data", "incremental", "enabled")].as_boolean()
    needing = s.scalars(
        select(Task.id).where(
            base == task.id,
            enabled.is_(True),
            Task.status.not_in([Status.SUCCEED.value, Status.SUBMIT_FAILED.value]),
        )
    ).all()
    if needing:
        ids = ", ".join(str(i) for i in needing)
        raise TaskStateError(
            f"task {task.id} is the base of incremental task(s) {ids}, which still need its "
            f"model; delete or finish those first"
        )
