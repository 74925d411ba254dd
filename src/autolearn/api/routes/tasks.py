"""``/api/v1/tasks``: create from the TaskSpec (the same schema as the YAML form), list
with filters, sorting and pages, show, live progress (Server-Sent Events), stop, resume,
copy, delete, events and logs."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Path, Query, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from autolearn.accounts import Principal
from autolearn.api.deps import Actor
from autolearn.tasks import lifecycle, service
from autolearn.tasks.listing import ScenarioName, SortKey
from autolearn.tasks.spec import TaskSpec
from autolearn.tasks.states import TERMINAL, Status

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"])
# Bounded like the database column (32-bit on PostgreSQL): a larger number is a 422, not
# an integer overflow inside the driver.
MAX_ID = 2**31 - 1
TaskId = Annotated[int, Path(ge=1, le=MAX_ID, description="Task ID.")]
AfterId = Annotated[int, Query(ge=0, le=MAX_ID, description="Only rows after this id.")]
Scenario = ScenarioName

# Live progress: how often the database is read, how often an idle stream says it is
# alive (proxies close silent connections), and how long one stream lasts before the
# server closes it (EventSource reconnects by itself, sending Last-Event-ID, so nothing is
# lost; it frees connections that a vanished client would otherwise hold for hours).
POLL_S = 0.5
KEEPALIVE_S = 15.0
STREAM_MAX_S = 900.0
RETRY_MS = 2000
EVENTS_PER_READ = 500


class CopyBody(BaseModel):
    """What the copy changes: a name, and any part of the form (merged into the
    original's, section by section)."""

    name: str | None = Field(None, description="The copy's name; default '<name>-copy'.")
    overrides: dict[str, Any] = Field(
        default_factory=dict,
        description='Parts of the TaskSpec to change, e.g. {"model": {"hyperparams": '
        '{"epochs": 5}}}; the data source stays the original\'s pinned version unless set.',
    )


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create and queue a task")
def create(spec: TaskSpec, actor: Actor) -> dict[str, Any]:
    """Pins the dataset version, resolves every 'auto' value and queues the task; the
    response has the plan and the advice, as `autolearn task create` prints them, and a
    ``warnings`` list that says when no queue worker serves the task's region (the task
    then waits in the queue until one starts)."""
    task = service.create_task(spec, actor=actor)
    task["warnings"] = _region_warnings(task["region"])
    return task


def _region_warnings(region: str) -> list[str]:
    """A task of a region no queue worker serves waits in the queue: say so at once."""
    from autolearn.scheduler.supervisor import live_worker

    if live_worker(region) is not None:
        return []
    return [
        f"no queue worker serves region {region!r} now: the task waits in the queue "
        f"until `autolearn server --regions {region}` or `autolearn worker --region "
        f"{region}` runs"
    ]


@router.post("/preview", summary="What creating this task would queue, without queueing it")
def preview(spec: TaskSpec, actor: Actor) -> dict[str, Any]:
    """The same checks as create (422s name the field), the dataset version it would pin,
    the resolved plan, the advice and the cost/ETA estimate: the console's review step
    before launch."""
    from autolearn.billing.estimate import estimate

    preview = service.preview_task(spec, actor=actor)
    preview["warnings"] = _region_warnings(spec.basic.region)
    preview["estimate"] = estimate(spec, preview["plan"])  # cost and ETA, as the CLI prints
    return preview


@router.get("", summary="List tasks: filter, sort, page")
def list_(
    actor: Actor,
    status_: str | None = Query(
        None,
        alias="status",
        max_length=200,
        description="Only tasks in this status; several separated by commas (RUNNING,QUEUED).",
    ),
    scenario: Scenario | None = Query(None, description="Only tasks of this scenario."),
    name: str | None = Query(
        None, max_length=64, description="Only tasks whose name contains this (any case)."
    ),
    dataset: str | None = Query(
        None, max_length=300, description="Only tasks on this dataset (any version) or name:vN."
    ),
    sort: SortKey = Query(
        "-created",
        description="created, name, status or metric (each task's own monitored metric, "
        "tasks without one last); '-' for descending.",
    ),
    limit: int = Query(50, ge=1, le=500, description="Page size."),
    offset: int = Query(0, ge=0, le=MAX_ID, description="Tasks to skip (limit × page)."),
) -> dict[str, Any]:
    """``total`` counts every task that matches, for a pager."""
    return service.task_page(
        status_,
        scenario=scenario,
        name=name,
        dataset=dataset,
        sort=sort,
        limit=limit,
        offset=offset,
        actor=actor,
    )


@router.get("/{task_id}", summary="One task: status, plan, advice, metrics")
def show(task_id: TaskId, actor: Actor) -> dict[str, Any]:
    from autolearn.tasks.results import read_report

    task = service.get_task(task_id, actor=actor)
    task["report"] = read_report(task)
    return task


@router.delete("/{task_id}", summary="Delete a finished task with its artifacts")
def delete(task_id: TaskId, actor: Actor) -> dict[str, Any]:
    """Only a STOPPED, FAILED, SUCCEED or SUBMIT_FAILED task (409 otherwise: stop it
    first). Its output folder, events and logs go with it."""
    from autolearn.api.routes.models import forget_predictor

    deleted = lifecycle.delete_task(task_id, actor=actor)
    forget_predictor(task_id)
    return deleted


@router.post("/{task_id}/stop", summary="Stop a queued or running task")
def stop(task_id: TaskId, actor: Actor) -> dict[str, Any]:
    return service.stop_task(task_id, actor=actor)


@router.post("/{task_id}/resume", summary="Queue a stopped or failed task again")
def resume(task_id: TaskId, actor: Actor) -> dict[str, Any]:
    return service.resume_task(task_id, actor=actor)


@router.post(
    "/{task_id}/copy", status_code=status.HTTP_201_CREATED, summary="Queue a copy of a task"
)
def copy(
    task_id: TaskId, actor: Actor, body: Annotated[CopyBody | None, Body()] = None
) -> dict[str, Any]:
    """A new QUEUED task owned by the caller, from the original's form (same pinned
    dataset version), with ``overrides`` merged in and its own output folder."""
    body = body or CopyBody()
    return lifecycle.copy_task(task_id, body.name, body.overrides, actor=actor)


@router.get(
    "/{task_id}/progress",
    summary="Live progress as Server-Sent Events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "An event stream."}},
)
def progress(
    task_id: TaskId,
    actor: Actor,
    after_id: AfterId = 0,
    last_event_id: Annotated[
        int | None,
        Header(alias="Last-Event-ID", ge=0, le=MAX_ID, description="Resume after this event."),
    ] = None,
) -> StreamingResponse:
    """Each event is ``id: <event id>``, ``event: <kind>`` (status, epoch, step, resume)
    and ``data: <the event as JSON>``, as GET /events gives it. Comments keep an idle
    stream alive; after the task ends the last message is ``event: end`` with its status.
    A reconnecting client (``Last-Event-ID``, or ``after_id``) gets only what it missed."""
    service.get_task(task_id, actor=actor)  # a 404 now, not an empty stream
    start = last_event_id if last_event_id is not None else after_id
    return StreamingResponse(
        _event_stream(task_id, start, actor),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _sse(kind: str, data: dict[str, Any], event_id: int | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


async def _pause(seconds: float) -> None:
    """The wait between database reads (a seam for tests to act between polls)."""
    await asyncio.sleep(seconds)


async def _event_stream(task_id: int, after_id: int, actor: Principal) -> AsyncIterator[bytes]:
    """Poll the task's events (in the threadpool: the event loop never waits on the
    database) and send each once, until the task has ended and all is sent."""
    yield f"retry: {RETRY_MS}\n\n".encode()
    started = last_sent = time.monotonic()
    while True:
        try:
            state, events = await run_in_threadpool(
                service.task_progress, task_id, after_id, EVENTS_PER_READ, actor=actor
            )
        except service.TaskNotFoundError:  # deleted while being watched
            yield _sse("end", {"task_id": task_id, "status": None, "deleted": True})
            return
        for event in events:
            yield _sse(event["kind"], event, event["id"])
            after_id = event["id"]
        caught_up = len(events) < EVENTS_PER_READ
        if caught_up and Status(state) in TERMINAL:
            yield _sse("end", {"task_id": task_id, "status": state, "last_event_id": after_id})
            return
        now = time.monotonic()
        if events:
            last_sent = now
        if now - started >= STREAM_MAX_S:
            yield b": stream time limit reached; reconnect with Last-Event-ID\n\n"
            return
        if now - last_sent >= KEEPALIVE_S:
            yield b": keep-alive\n\n"
            last_sent = now
        if caught_up:
            await _pause(POLL_S)


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
