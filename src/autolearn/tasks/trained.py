"""Finished tasks as models and evaluations: the list of trained models (from the rows
alone, so that it stays cheap to poll) and each one's metadata or evaluation report
(read from its output folder)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from autolearn.accounts.principal import Principal, owner_filter
from autolearn.db import Task, session_scope
from autolearn.db.models import iso
from autolearn.storage import open_store
from autolearn.tasks import listing
from autolearn.tasks.errors import EvaluationNotFoundError, ModelNotFoundError, TaskError
from autolearn.tasks.results import MODEL_KEY, has_model_file, read_meta, read_report
from autolearn.tasks.service import DELETING, get_task
from autolearn.tasks.views import model_name


def trained_page(
    scenario: str | None = None,
    *,
    limit: int = 50,
    offset: int = 0,
    engine: Engine | None = None,
    actor: Principal | None = None,
) -> dict[str, Any]:
    """The caller's tasks that ended with a model and an evaluation report, newest
    first, with what a model list shows (no object-store reads: it is all in the row)."""
    try:
        where = listing.TaskFilter.parse(scenario=scenario, owner_id=owner_filter(actor))
    except listing.ListError as exc:
        raise TaskError(str(exc)) from None
    with session_scope(engine) as s:
        rows, total = listing.page(s, where, "-created", limit, offset, listing.has_model(s))
        items = [trained_view(t) for t in rows]
    return {"items": items, "total": total, "limit": limit, "offset": offset}


def trained_view(task: Task) -> dict[str, Any]:
    """A trained model as the model and evaluation lists show it."""
    metric = task.plan.get("metric", "accuracy")
    return {
        "task_id": task.id,
        "owner_id": task.owner_id,
        "name": task.name,
        "scenario": task.scenario,
        "status": task.status,
        "model": model_name(task.plan),
        "metric": metric,
        "value": task.metrics.get(metric),
        "best_epoch": task.metrics.get("best_epoch"),
        "classes": task.plan.get("classes", []),
        "input_size": task.plan.get("input_size"),
        "created_at": iso(task.created_at),
        "finished_at": iso(task.finished_at),
    }


def get_model(
    task_id: int, engine: Engine | None = None, actor: Principal | None = None
) -> dict[str, Any]:
    """A trained model's metadata (``model/meta.json``) and its per-class thresholds."""
    task = get_task(task_id, engine, actor)
    meta = read_meta(task) if task["stop_reason"] != DELETING else None
    if meta is None:
        raise ModelNotFoundError(
            f"task {task_id} has no finished model yet (status {task['status']}); "
            f"a model is listed once its task ends after at least one validated epoch"
        )
    return {
        "task_id": task_id,
        "name": task["name"],
        "scenario": task["scenario"],
        "status": task["status"],
        "metric": task["metric"],
        "value": meta.get("metrics", {}).get(task["metric"]),
        "score_thresholds": meta.get("score_thresholds"),
        "meta": meta,
        "model_uri": open_store(task["output_uri"]).uri(MODEL_KEY),
    }


def get_evaluation(
    task_id: int, engine: Engine | None = None, actor: Principal | None = None
) -> dict[str, Any]:
    """The evaluation report of a task (metrics, per class, confusion matrix or AP and
    thresholds, history), with which task it is."""
    task = get_task(task_id, engine, actor)
    report = read_report(task) if task["stop_reason"] != DELETING else None
    if report is None:
        raise EvaluationNotFoundError(
            f"task {task_id} has no evaluation yet (status {task['status']}); the report is "
            f"written when training ends after at least one validated epoch"
        )
    return {
        "task_id": task_id,
        "name": task["name"],
        "scenario": task["scenario"],
        "status": task["status"],
        "metric": task["metric"],
        "report": report,
    }


def model_file_task(
    task_id: int, engine: Engine | None = None, actor: Principal | None = None
) -> dict[str, Any]:
    """The task, when its ``model/model.pt`` can be downloaded or predicted with (the
    best model so far, from its first validated epoch on)."""
    task = get_task(task_id, engine, actor)
    if task["stop_reason"] == DELETING or not has_model_file(task):
        raise ModelNotFoundError(
            f"task {task_id} has no trained model yet (status {task['status']}); the model "
            f"is written after its first validated epoch"
        )
    return task
