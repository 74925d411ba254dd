"""``/api/v1/tasks``: create from the TaskSpec (the same schema as the YAML form), list
with a status filter and pages, show, stop, resume, events and logs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status

from autolearn.api.deps import Actor
from autolearn.tasks import service
from autolearn.tasks.spec import TaskSpec

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"])
# Bounded like the database column (32-bit on PostgreSQL): a larger number is a 422, not
# an integer overflow inside the driver.
MAX_ID = 2**31 - 1
TaskId = Annotated[int, Path(ge=1, le=MAX_ID, description="Task ID.")]
AfterId = Annotated[int, Query(ge=0, le=MAX_ID, description="Only rows after this id.")]


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create and queue a task")
def create(spec: TaskSpec, actor: Actor) -> dict[str, Any]:
    """Pins the dataset version, resolves every 'auto' value and queues the task; the
    response has the plan and the advice, as `autolearn task create` prints them."""
    return service.create_task(spec, actor=actor)


@router.get("", summary="List tasks, newest first")
def list_(
    actor: Actor,
    status_: str | None = Query(None, alias="status", description="Only tasks in this status."),
    limit: int = Query(50, ge=1, le=500, description="Page size."),
    offset: int = Query(0, ge=0, le=MAX_ID, description="Tasks to skip (limit × page)."),
) -> dict[str, Any]:
    items = service.list_tasks(status_, limit, offset=offset, actor=actor)
    return {"items": items, "limit": limit, "offset": offset}


@router.get("/{task_id}", summary="One task: status, plan, advice, metrics")
def show(task_id: TaskId, actor: Actor) -> dict[str, Any]:
    from autolearn.tasks.results import read_report

    task = service.get_task(task_id, actor=actor)
    task["report"] = read_report(task)
    return task


@router.post("/{task_id}/stop", summary="Stop a queued or running task")
def stop(task_id: TaskId, actor: Actor) -> dict[str, Any]:
    return service.stop_task(task_id, actor=actor)


@router.post("/{task_id}/resume", summary="Queue a stopped or failed task again")
def resume(task_id: TaskId, actor: Actor) -> dict[str, Any]:
    return service.resume_task(task_id, actor=actor)


@router.get("/{task_id}/events", summary="Progress events after an event id")
def events(
    task_id: TaskId,
    actor: Actor,
    after_id: AfterId = 0,
    kind: str | None = Query(None, description="step, epoch, status, resume"),
) -> list[dict[str, Any]]:
    return service.task_events(task_id, after_id=after_id, kind=kind, actor=actor)


@router.get("/{task_id}/logs", summary="Log lines after a line id")
def logs(task_id: TaskId, actor: Actor, after_id: AfterId = 0) -> list[dict[str, Any]]:
    return service.task_logs(task_id, after_id=after_id, actor=actor)
