"""Task rows as the faces show them (CLI, REST, console): plain dicts built from the row
alone, so that a list never reads the object store per task; only the full view of one
task adds the URIs of its model and report."""

from __future__ import annotations

from typing import Any

from autolearn.db import Task, TaskEvent
from autolearn.db.models import iso
from autolearn.storage import open_store
from autolearn.tasks.results import MODEL_KEY, REPORT_KEY


def model_name(plan: dict[str, Any]) -> str | None:
    """'fcos/tf_efficientnet_lite0.in1k' for a detector, the zoo name for a classifier."""
    model = plan.get("model")
    return f"{plan['arch']}/{model}" if plan.get("arch") else model


def task_view(task: Task, full: bool = False) -> dict[str, Any]:
    """The task as lists show it; ``full`` adds the form, plan, advice and worker fields
    that one task's page shows."""
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
        view.update(_details(task))
        view["cost"] = view["billing"]["cost"] if view["billing"] else "0.00"
    return view


def _details(task: Task) -> dict[str, Any]:
    output = open_store(task.output_uri) if task.metrics.get("best_epoch") is not None else None
    return {
        "description": task.description,
        "advice": task.advice,
        "plan": task.plan,
        "spec": task.spec,
        "attempts": task.attempts,
        "host": task.host,
        "pid": task.pid,
        "heartbeat_at": iso(task.heartbeat_at),
        "model_uri": output.uri(MODEL_KEY) if output else None,
        "report_uri": output.uri(REPORT_KEY) if output else None,
        "billing": _billing(task),
    }


def _billing(task: Task) -> dict[str, Any] | None:
    """The task's charge (price, frozen, cost so far, billed seconds), when it has one."""
    from sqlalchemy.orm import object_session

    from autolearn.billing.charging import charge_view
    from autolearn.db.models import TaskCharge

    s = object_session(task)
    return charge_view(s.get(TaskCharge, task.id)) if s is not None else None


def event_view(e: TaskEvent) -> dict[str, Any]:
    """A progress event as GET /events and the SSE stream send it."""
    return {
        "id": e.id,
        "ts": iso(e.ts),
        "kind": e.kind,
        "epoch": e.epoch,
        "step": e.step,
        "data": e.data,
    }
