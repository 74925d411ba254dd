"""``/api/v1/evaluations``: the evaluation report of each task that ended with a model
(classification: accuracy, per class, confusion matrix; detection: mAP, per-class AP,
P/R/F1, tuned thresholds; both: the training history)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from autolearn.api.deps import Actor
from autolearn.api.routes.tasks import MAX_ID, Scenario, TaskId

router = APIRouter(prefix="/api/v1/evaluations", tags=["evaluations"])


@router.get("", summary="Tasks with an evaluation report and their headline metric")
def list_(
    actor: Actor,
    scenario: Scenario | None = Query(None, description="Only tasks of this scenario."),
    limit: int = Query(50, ge=1, le=500, description="Page size."),
    offset: int = Query(0, ge=0, le=MAX_ID, description="Rows to skip."),
) -> dict[str, Any]:
    """``metric`` is each task's monitored metric and ``value`` its best validation
    value (the report's own numbers come from GET /api/v1/evaluations/{task_id})."""
    from autolearn.tasks.trained import trained_page

    return trained_page(scenario, limit=limit, offset=offset, actor=actor)


@router.get("/{task_id}", summary="A task's evaluation report")
def show(task_id: TaskId, actor: Actor) -> dict[str, Any]:
    """404 ``evaluation_not_found`` until the task has ended after a validated epoch."""
    from autolearn.tasks.trained import get_evaluation

    return get_evaluation(task_id, actor=actor)
