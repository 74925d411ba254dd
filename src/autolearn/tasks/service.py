"""Create, list, show, stop and resume tasks, and read their logs and events. Creating a
task writes a QUEUED row: the tasks table is the queue, so this module never needs the
scheduler.

Copy and delete live in ``lifecycle.py``; the errors in ``errors.py``; parsing forms in
``parsing.py``; the dicts shown in ``views.py``. The names that callers have always
imported from here (errors, ``parse_spec``, ``load_spec_file``, ``merge_spec``,
``task_view``, ``model_name``) are re-exported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from autolearn.accounts.principal import Principal, may_access, owner_filter
from autolearn.db import Task, TaskEvent, TaskLog, session_scope
from autolearn.db.models import iso, utcnow
from autolearn.storage import StorageError, default_store, open_store
from autolearn.tasks import listing
from autolearn.tasks.errors import (
    EvaluationNotFoundError,
    ModelNotFoundError,
    TaskError,
    TaskNotFoundError,
    TaskStateError,
)
from autolearn.tasks.parsing import load_spec_file, merge_spec, parse_spec
from autolearn.tasks.results import MODEL_KEY
from autolearn.tasks.spec import DatasetSource, TaskSpec, kind_of
from autolearn.tasks.states import RESUMABLE, STOPPABLE, TERMINAL, Status, can_move
from autolearn.tasks.views import event_view, model_name, task_view

if TYPE_CHECKING:  # planning pulls in the training stack; load it only when used
    from autolearn.tasks.planning import PlannedTask

__all__ = [
    "DELETING",
    "EvaluationNotFoundError",
    "ModelNotFoundError",
    "TaskError",
    "TaskNotFoundError",
    "TaskStateError",
    "create_task",
    "get_task",
    "is_dataset_source",
    "list_tasks",
    "load_spec_file",
    "merge_spec",
    "model_name",
    "parse_spec",
    "preview_task",
    "resume_task",
    "stop_task",
    "task_events",
    "task_logs",
    "task_page",
    "task_progress",
    "task_row",
    "task_view",
]

# ``stop_reason`` of a task whose artifacts are being removed: it can no longer be
# resumed, and its row goes once its folder is gone (DELETE again finishes the job).
DELETING = "deleting"


def _plan(spec: TaskSpec, engine: Engine | None, actor: Principal | None) -> PlannedTask:
    """Everything creation checks and resolves, without writing a task."""
    from autolearn.tasks.planning import plan_task

    if spec.output.path:
        try:
            open_store(spec.output.path)
        except StorageError as exc:
            raise TaskError(f"output.path: {exc}") from None
    with session_scope(engine) as s:
        _check_resources(s, spec, actor)
        base = _base_task(s, spec, actor) if spec.data.incremental.enabled else None
    return plan_task(spec, base, engine, actor)


def _check_resources(s: Session, spec: TaskSpec, actor: Principal | None) -> None:
    """The spec exists and the region offers it; a prepaid group is one the caller may use
    (same checks at preview and create, so the review step shows them)."""
    from autolearn.billing.catalog import CatalogError, get_catalog
    from autolearn.billing.errors import BillingError
    from autolearn.billing.groups import check_task

    res = spec.resources
    try:
        get_catalog().check_placement(spec.basic.region, res.spec)
        if res.charge_type == "PREPAID" and res.resource_group:
            check_task(s, res.resource_group, res.spec, res.count, spec.basic.region, actor)
    except (CatalogError, BillingError) as exc:
        raise TaskError(f"resources: {exc}") from None


def preview_task(
    spec: TaskSpec, engine: Engine | None = None, actor: Principal | None = None
) -> dict[str, Any]:
    """What ``create_task`` would queue (pinned spec, resolved plan, advice), without
    queueing it: the console shows this before launch, as the seed's "Next" step."""
    planned = _plan(spec, engine, actor)
    return {
        "spec": planned.pinned_spec.model_dump(mode="json"),
        "plan": planned.plan.model_dump(mode="json"),
        "advice": [a.to_dict() for a in planned.advice],
        "dataset": planned.version.ref,
    }


def create_task(
    spec: TaskSpec, engine: Engine | None = None, actor: Principal | None = None
) -> dict[str, Any]:
    """Pin the data version, resolve the plan and advice, and queue the task (owned by
    ``actor``; it may only use datasets and base tasks ``actor`` can see)."""
    planned = _plan(spec, engine, actor)
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
        _hold(s, task, actor)
        for advice in planned.advice:
            level = "WARNING" if advice.level == "warning" else "INFO"
            s.add(TaskLog(task_id=task.id, level=level, message=f"advice: {advice.message}"))
        task_id = task.id
        output = open_store(task.output_uri)
        output.put_json("spec.json", task.spec)
        output.put_json("plan.json", task.plan)
    return get_task(task_id, engine, actor)


def _hold(s: Session, task: Task, actor: Principal | None) -> None:
    """Freeze the pay-as-you-go deposit (or join the prepaid group) in the transaction that
    writes the task: without the money the task is written SUBMIT_FAILED, saying how much
    is missing, and never queued."""
    from autolearn.billing.charging import on_submit
    from autolearn.billing.errors import BillingError

    try:
        refusal = on_submit(s, task, actor)
    except BillingError as exc:
        raise TaskError(f"resources: {exc}") from None
    if refusal is None:
        s.add(TaskEvent(task_id=task.id, kind="status", data={"status": Status.QUEUED.value}))
        return
    task.status, task.stop_reason = Status.SUBMIT_FAILED.value, "insufficient_balance"
    task.message, task.finished_at = str(refusal), utcnow()
    s.add(TaskLog(task_id=task.id, level="ERROR", message=str(refusal)))
    s.add(
        TaskEvent(
            task_id=task.id,
            kind="status",
            data={
                "status": Status.SUBMIT_FAILED.value,
                "message": str(refusal),
                "missing_cents": refusal.missing_cents,
            },
        )
    )


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


def task_row(s: Session, task_id: int, actor: Principal | None = None, lock: bool = False) -> Task:
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
        return task_view(task_row(s, task_id, actor), full=True)


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
            _add_costs(s, items)
    except listing.ListError as exc:
        raise TaskError(str(exc)) from None
    return {"items": items, "total": total, "limit": limit, "offset": offset, "sort": sort}


def _add_costs(s: Session, items: list[dict[str, Any]]) -> None:
    """Each listed task's cost so far (one query for the page)."""
    from autolearn.billing.money import fmt
    from autolearn.db.models import TaskCharge

    ids = [item["id"] for item in items]
    costs = dict(
        s.execute(
            select(TaskCharge.task_id, TaskCharge.charged_cents).where(TaskCharge.task_id.in_(ids))
        ).all()
    )
    for item in items:
        item["cost"] = fmt(int(costs.get(item["id"], 0)))


def stop_task(
    task_id: int, engine: Engine | None = None, actor: Principal | None = None
) -> dict[str, Any]:
    """A queued task stops at once; a running one is asked to stop (STOPPING) and keeps
    its best model so far."""
    with session_scope(engine) as s:
        task = task_row(s, task_id, actor)
        status = Status(task.status)
        if status not in STOPPABLE:
            raise TaskStateError(
                f"task {task_id} is {status.value}; only "
                f"{', '.join(x.value for x in sorted(STOPPABLE))} tasks can be stopped"
            )
        task.stop_requested = True
        if status is Status.QUEUED:
            from autolearn.billing.charging import settle

            _set_status(s, task, Status.STOPPED, stop_reason="user_stop")
            settle(s, task, task.id)  # never ran: the whole freeze goes back
        else:
            _set_status(s, task, Status.STOPPING)
    return get_task(task_id, engine, actor)


def resume_task(
    task_id: int, engine: Engine | None = None, actor: Principal | None = None
) -> dict[str, Any]:
    """Queue a stopped or failed task again; the worker continues from its last checkpoint."""
    with session_scope(engine) as s:
        task = task_row(s, task_id, actor, lock=True)
        if task.stop_reason == DELETING:
            raise TaskStateError(
                f"task {task_id} is being deleted (its artifacts may be gone); "
                f"delete it again to finish, or copy it to train anew"
            )
        if Status(task.status) not in RESUMABLE:
            raise TaskStateError(
                f"task {task_id} is {task.status}; only STOPPED or FAILED tasks can be resumed"
            )
        from autolearn.billing.charging import on_resume

        on_resume(s, task)  # pay-as-you-go freezes again, or InsufficientBalanceError
        task.resume, task.stop_requested = True, False
        task.stop_reason, task.message, task.finished_at = None, "", None
        _set_status(s, task, Status.QUEUED)
        s.add(
            TaskLog(
                task_id=task.id, message="resume requested: continuing from the last checkpoint"
            )
        )
    return get_task(task_id, engine, actor)


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
        status = task_row(s, task_id, actor).status
        rows = s.scalars(
            select(TaskEvent)
            .where(TaskEvent.task_id == task_id, TaskEvent.id > after_id)
            .order_by(TaskEvent.id)
            .limit(limit)
        )
        return status, [event_view(e) for e in rows]


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
        task_row(s, task_id, actor)
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
        task_row(s, task_id, actor)
        query = select(TaskEvent).where(TaskEvent.task_id == task_id, TaskEvent.id > after_id)
        if kind:
            query = query.where(TaskEvent.kind == kind)
        return [event_view(e) for e in s.scalars(query.order_by(TaskEvent.id))]


def is_dataset_source(spec: TaskSpec) -> bool:
    return isinstance(spec.data.source, DatasetSource)
