"""Console pages: Evaluation: metrics, confusion matrix, PR curves, per class, bad cases.

The page is a shell like every console page: ``static/js/evaluation.js`` fills it from
``GET /api/v1/evaluations/{task_id}`` (the report) and ``GET /api/v1/tasks/{task_id}``
(the pinned dataset version its bad-case images come from), so a member sees exactly
the evaluations the API lets them read; another member's task answers 404 there.
"""

from __future__ import annotations

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from autolearn.web.pages import render

router = APIRouter(include_in_schema=False)


@router.get("/console/evaluations/{task_id}", response_class=HTMLResponse)
def evaluation(request: Request, task_id: int = Path(ge=1)) -> Response:
    """The evaluation of one task (the id travels to the script in ``data-task-id``)."""
    return render(request, "evaluation.html", task_id=task_id)
