"""Create, list, show, stop, resume, copy and delete tasks. Creating a task writes a
QUEUED row: the tasks table is the queue, so this module never needs the scheduler."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, cast

import yaml
from pydantic import ValidationError
from sqlalchemy import CursorResult, Engine, delete, select
from sqlalchemy.orm import Session

from autolearn.accounts.principal import Principal, may_access, owner_filter
from autolearn.db import Task, TaskEvent, TaskLog, session_scope
from autolearn.db.models import iso, utcnow
from autolearn.storage import StorageError, default_store, open_store
from autolearn.tasks import listing
from autolearn.tasks.results import MODEL_KEY, REPORT_KEY, remove_outputs
from autolearn.tasks.spec import DatasetSource, TaskSpec, format_validation_error, kind_of
from autolearn.tasks.states import RESUMABLE, STOPPABLE, TERMINAL, Status, can_move


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


# ``stop_reason`` of a task whose artifacts are being removed: it can no longer be
# resumed, and its row goes once its folder is gone (DELETE again finishes the job).
DELETING = "deleting"


def parse_spec(data: dict[str, Any], source: str = "task spec") -> TaskSpec:
    """Validate a dict as a TaskSpec; errors list every bad field and what is allowed."""
    try:
        return TaskSpec.model_validate(data)
    except ValidationError as exc:
        raise TaskError(f"{source} is invalid:\n{format_validation_error(exc)}") from None


def load_spec_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML (or JSON) task file into a dict, naming the file on any problem."""
    p = Path(path)
    if not p.is_file():
        raise TaskError(f"task file {p} does not exist")
    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError as exc:
        raise TaskError(f"task file {p} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise TaskError(f"task file {p} must hold a mapping with sections basic, data, model, ...")
    return data


def create_task(
    spec: TaskSpec, engine: Engine | None = None, actor: Principal | None = None
) -> dict[str, Any]:
    """Pin the data version, resolve the plan and advice, and queue the task (owned by
    ``actor``; it may only use datasets and base tasks ``actor`` can see)."""
    from autolearn.tasks.planning import plan_task

    if spec.output.path:
        try:
            open_store(spec.output.path)
        except StorageError as exc:
            raise TaskError(f"output.path: {exc}") from None
    with session_scope(engine) as s:
        base = _base_task(s, spec, actor) if spec.data.incremental.enabled else None
    planned = plan_task(spec, base, engine, actor)
    with session_scope(engine) as s:
        task = Task(
            name=spec.basic.name,
            description=spec.basic.description,
            scenario=spec.basic.scenario,
            region=spec.basic.region,
            status=Status.QUEUED.value,
            spec=planned.pinned_spec.model_dump(mode="json"),
            plan=planned.plan.model_dump(mode="json"),
            advice=[a.to_dict() for a in planned.advice],
            dataset_version_id=planned.version.id,
            output_uri="",
            total_epochs=planned.plan.epochs,
            owner_id=actor.user_id if actor is not None else None,
        )
        s.add(task)
        s.flush()
        task.output_uri = spec.output.path or default_store().uri(f"tasks/{task.id}")
        s.add(TaskEvent(task_id=task.id, kind="status", data={"status": Status.QUEUED.value}))
        for advice in planned.advice:
            level = "WARNING" if advice.level == "warning" else "INFO"
            s.add(TaskLog(task_id=task.id, level=level, message=f"advice: {advice.message}"))
        task_id = task.id
        output = open_store(task.output_uri)
        output.put_json("spec.json", task.spec)
        output.put_json("plan.json", task.plan)
    return get_task(task_id, engine, actor)


def _base_task(s: Session, spec: TaskSpec, actor: Principal | None) -> dict[str, Any]:
    """The finished task an incremental task starts from, with its classes and model."""
    base_id = spec.data.incremental.base_task
    base = s.get(Task, base_id)
    if base is None or not may_access(actor, base.owner_id):
        raise TaskError(f"data.incremental.base_task: task {base_id} does not exist")
    if kind_of(base.scenario) != spec.kind:
        raise TaskError(
            f"data.incremental.base_task: task {base_id} is {base.scenario}, "
            f"this task is {spec.basic.scenario}"
        )
    model_uri = open_store(base.output_uri).uri(MODEL_KEY)
    if not base.metrics or base.status not in (Status.SUCCEED.value, Status.STOPPED.value):
        raise TaskError(
            f"data.incremental.base_task: task {base_id} has no trained model "
            f"(status {base.status}); pick a task that ended SUCCEED"
        )
    return {
        "task_id": base.id,
        "model": base.plan["model"],
        "input_size": base.plan["input_size"],
        "arch": base.plan.get("arch"),
        "detector_options": base.plan.get("detector_options") or {},
        "classes": base.plan["classes"],
        "model_uri": model_uri,
    }


def _get(s: Session, task_id: int, actor: Principal | None = None, lock: bool = False) -> Task:
    """The task, if ``actor`` may see it; another member's task does not exist for them.
    ``lock`` holds the row (PostgreSQL) so that a resume and a delete cannot interleave."""
    task = s.get(Task, task_id, with_for_update=lock)
    if task is None or not may_access(actor, task.owner_id):
        raise TaskNotFoundError(f"task {task_id} does not exist; `autolearn task list` shows tasks")
    return task


def get_task(
    task_id: int, engine: Engine | None = None, actor: Principal | None = None
) -> dict[str, Any]:
    with session_scope(engine) as s:
        return task_view(_get(s, task_id, actor), full=True)


def list_tasks(
    status: str | None = None,
    limit: int = 50,
    engine: Engine | None = None,
    offset: int = 0,
    actor: Principal | None = None,
    **filters: Any,
) -> list[dict[str, Any]]:
    """Newest first, optionally filtered by status; ``offset`` skips that many (pages).
    A member sees their own tasks only. ``filters``: see :func:`task_page`."""
    page = task_page(status, limit=limit, offset=offset, engine=engine, actor=actor, **filters)
    return list(page["items"])


def task_page(
    status: str | None = None,
    *,
    scenario: str | None = None,
    name: str | None = None,
    dataset: str | None = None,
    sort: str = "-created",
    limit: int = 50,
    offset: int = 0,
    engine: Engine | None = None,
    actor: Principal | None = None,
) -> dict[str, Any]:
    """One page of the caller's tasks and how many match in all.

    ``status``: one or several (``RUNNING,QUEUED``); ``name``: a case-insensitive part of
    the name; ``dataset``: a dataset name (any version) or ``name:vN``; ``sort``: created,
    name, status or metric (the task's own monitored metric), ``-`` for descending.
    """
    try:
        where = listing.TaskFilter.parse(status, scenario, name, dataset, owner_filter(actor))
        with session_scope(engine) as s:
            rows, total = listing.page(s, where, sort, limit, offset)
            items = [task_view(t) for t in rows]
    except listing.ListError as exc:
        raise TaskError(str(exc)) from None
    return {"items": items, "total": total, "limit": limit, "offset": offset, "sort": sort}


def stop_task(
    task_id: int, engine: Engine | None = None, actor: Principal | None = None
) -> dict[str, Any]:
    """A queued task stops at once; a running one is asked to stop (STOPPING) and keeps
    its best model so far."""
    with session_scope(engine) as s:
        task = _get(s, task_id, actor)
        status = Status(task.status)
        if status not in STOPPABLE:
            raise TaskStateError(
                f"task {task_id} is {status.value}; only "
                f"{', '.join(x.value for x in sorted(STOPPABLE))} tasks can be stopped"
            )
        task.stop_requested = True
        if status is Status.QUEUED:
            _set_status(s, task, Status.STOPPED, stop_reason="user_stop")
        else:
            _set_status(s, task, Status.STOPPING)
    return get_task(task_id, engine, actor)


def resume_task(
    task_id: int, engine: Engine | None = None, actor: Principal | None = None
) -> dict[str, Any]:
    """Queue a stopped or failed task again; the worker continues from its last checkpoint."""
    with session_scope(engine) as s:
        task = _get(s, task_id, actor, lock=True)
        if task.stop_reason == DELETING:
            raise TaskStateError(
                f"task {task_id} is being deleted (its artifacts may be gone); "
                f"delete it again to finish, or copy it to train anew"
            )
        if Status(task.status) not in RESUMABLE:
            raise TaskStateError(
                f"task {task_id} is {task.status}; only STOPPED or FAILED tasks can be resumed"
            )
        task.resume, task.stop_requested = True, False
        task.stop_reason, task.message, task.finished_at = None, "", None
        _set_status(s, task, Status.QUEUED)
        s.add(
            TaskLog(
                task_id=task.id, message="resume requested: continuing from the last checkpoint"
            )
        )
    return get_task(task_id, engine, actor)


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
        original = _get(s, task_id, actor)
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


def merge_spec(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` merged in, section by section. A mapping whose
    ``type`` changes (a data source going from a dataset to a sample) replaces the old
    one whole, since the old fields would not fit the new type."""
    out = dict(base)
    for key, value in overrides.items():
        old = out.get(key)
        if isinstance(old, dict) and isinstance(value, dict) and not _retyped(old, value):
            out[key] = merge_spec(old, value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _retyped(old: dict[str, Any], new: dict[str, Any]) -> bool:
    return "type" in new and new["type"] != old.get("type")


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
        task = _get(s, task_id, actor, lock=True)
        _check_deletable(s, task)
        task.stop_reason, task.metrics = DELETING, {}
        output_uri, own_folder = task.output_uri, not (task.spec.get("output") or {}).get("path")
        name = task.name
    removed = remove_outputs(output_uri, whole_folder=own_folder)
    with session_scope(engine) as s:
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


def _check_deletable(s: Session, task: Task) -> None:
    """Only a task that is over may go, and not while another task still needs its
    model (an incremental task that has not succeeded yet starts from it)."""
    if Status(task.status) not in TERMINAL:
        raise TaskStateError(
            f"task {task.id} is {task.status}; stop it first (POST /api/v1/tasks/{task.id}/stop "
            f"or `autolearn task stop {task.id}`) and delete it once it is STOPPED"
        )
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


def task_progress(
    task_id: int,
    after_id: int = 0,
    limit: int = 500,
    engine: Engine | None = None,
    actor: Principal | None = None,
) -> tuple[str, list[dict[str, Any]]]:
    """The task's status and its next events after ``after_id`` (at most ``limit``), read
    status first: when the status read is terminal, every event written before it (the
    final status event included) is in this or a later read."""
    with session_scope(engine) as s:
        status = _get(s, task_id, actor).status
        rows = s.scalars(
            select(TaskEvent)
            .where(TaskEvent.task_id == task_id, TaskEvent.id > after_id)
            .order_by(TaskEvent.id)
            .limit(limit)
        )
        return status, [_event_view(e) for e in rows]


def _set_status(s: Session, task: Task, status: Status, **fields: Any) -> None:
    if not can_move(task.status, status.value):
        raise TaskError(f"task {task.id} cannot go from {task.status} to {status.value}")
    task.status = status.value
    for key, value in fields.items():
        setattr(task, key, value)
    if status in TERMINAL:
        task.finished_at = utcnow()
    s.add(
        TaskEvent(
            task_id=task.id,
            kind="status",
            epoch=task.epoch,
            data={
                "status": status.value,
                **{k: v for k, v in fields.items() if isinstance(v, str | int | float)},
            },
        )
    )


def task_logs(
    task_id: int,
    after_id: int = 0,
    engine: Engine | None = None,
    actor: Principal | None = None,
) -> list[dict[str, Any]]:
    with session_scope(engine) as s:
        _get(s, task_id, actor)
        rows = s.scalars(
            select(TaskLog)
            .where(TaskLog.task_id == task_id, TaskLog.id > after_id)
            .order_by(TaskLog.id)
        )
        return [{"id": r.id, "ts": iso(r.ts), "level": r.level, "message": r.message} for r in rows]


def task_events(
    task_id: int,
    after_id: int = 0,
    kind: str | None = None,
    engine: Engine | None = None,
    actor: Principal | None = None,
) -> list[dict[str, Any]]:
    with session_scope(engine) as s:
        _get(s, task_id, actor)
        query = select(TaskEvent).where(TaskEvent.task_id == task_id, TaskEvent.id > after_id)
        if kind:
            query = query.where(TaskEvent.kind == kind)
        return [_event_view(e) for e in s.scalars(query.order_by(TaskEvent.id))]


def _event_view(e: TaskEvent) -> dict[str, Any]:
    return {
        "id": e.id,
        "ts": iso(e.ts),
        "kind": e.kind,
        "epoch": e.epoch,
        "step": e.step,
        "data": e.data,
    }


def model_name(plan: dict[str, Any]) -> str | None:
    """'fcos/tf_efficientnet_lite0.in1k' for a detector, the zoo name for a classifier."""
    model = plan.get("model")
    return f"{plan['arch']}/{model}" if plan.get("arch") else model


def task_view(task: Task, full: bool = False) -> dict[str, Any]:
    """The task as the CLI (and later the API) shows it."""
    source = task.spec.get("data", {}).get("source", {})
    view: dict[str, Any] = {
        "id": task.id,
        "owner_id": task.owner_id,
        "name": task.name,
        "scenario": task.scenario,
        "region": task.region,
        "status": task.status,
        "billing_status": task.billing_status,
        "stop_reason": task.stop_reason,
        "message": task.message,
        "dataset": source.get("dataset") or f"sample:{source.get('sample')}",
        "model": model_name(task.plan),
        "metric": task.plan.get("metric", "accuracy"),
        "epoch": task.epoch,
        "total_epochs": task.total_epochs,
        "step": task.step,
        "total_steps": task.total_steps,
        "eta_s": task.eta_s,
        "metrics": task.metrics,
        "created_at": iso(task.created_at),
        "started_at": iso(task.started_at),
        "finished_at": iso(task.finished_at),
        "output_uri": task.output_uri,
    }
    if full:
        output = open_store(task.output_uri) if task.metrics.get("best_epoch") is not None else None
        view.update(
            description=task.description,
            advice=task.advice,
            plan=task.plan,
            spec=task.spec,
            attempts=task.attempts,
            host=task.host,
            pid=task.pid,
            heartbeat_at=iso(task.heartbeat_at),
            model_uri=output.uri(MODEL_KEY) if output else None,
            report_uri=output.uri(REPORT_KEY) if output else None,
        )
    return view


def is_dataset_source(spec: TaskSpec) -> bool:
    return isinstance(spec.data.source, DatasetSource)
