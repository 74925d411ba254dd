"""Console pages: New task form, Training page and Task management.

The New task form is not written out in a template: the browser builds it from the
TaskSpec JSON schema served at ``/console/task-schema.json`` (``static/js/task_form.js``),
so a field added to the spec appears in the form with its title, help, range and default,
and the form can never ask for something the API would refuse. What the schema cannot say
(which API list offers the choices for a field) is the ``PICKERS`` table below, keyed by
field path and checked against the spec by the tests, so a renamed field fails a test
instead of silently losing its picker.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel

from autolearn.tasks.spec import TaskSpec
from autolearn.web.pages import render

router = APIRouter(include_in_schema=False)

# The model whose schema the form is built from: a module attribute (not a constant baked
# into the route) so that a test can serve an extended spec and see the form follow it.
SPEC_MODEL: type[BaseModel] = TaskSpec

# Field path → where its choices come from and how they are offered: "select" (only the
# listed values, plus an empty "none" choice when the field may be null) or "datalist"
# (suggestions; any value may be typed). Sources: datasets, tasks, regions (read from the
# API in the browser with the caller's rights) and samples, models (registries, below).
PICKERS: dict[str, dict[str, str]] = {
    "basic.region": {"source": "regions", "mode": "datalist"},
    "data.source.dataset": {"source": "datasets", "mode": "select"},
    "data.source.sample": {"source": "samples", "mode": "select"},
    "data.incremental.base_task": {"source": "tasks", "mode": "select"},
    "model.pretrained": {"source": "models", "mode": "datalist"},
}

# The field a copy's name goes in ("<name>-copy"), like ``POST /api/v1/tasks/{id}/copy``.
NAME_FIELD = "basic.name"


def task_schema() -> dict[str, Any]:
    """The JSON schema the form is generated from (pydantic's, unchanged)."""
    return SPEC_MODEL.model_json_schema()


def form_field_paths(schema: dict[str, Any]) -> list[str]:
    """The dotted paths of the inputs that ``task_form.js`` renders for ``schema``.

    Mirrors the browser's walk (``fieldPaths`` in task_form.js) so the tests can say that
    the form's fields are exactly the spec's without a browser: objects (``$ref``) become
    fieldsets whose properties are walked; a discriminated union (``oneOf`` +
    ``discriminator``) becomes a choice (its tag's path) plus each variant's own fields at
    the union's path; everything else is one input.
    """
    defs = schema.get("$defs", {})

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        ref = node.get("$ref")
        if ref:
            return {
                **defs[ref.rsplit("/", 1)[-1]],
                **{k: v for k, v in node.items() if k != "$ref"},
            }
        return node

    def walk(node: dict[str, Any], path: str) -> list[str]:
        node = resolve(node)
        if "oneOf" in node and "discriminator" in node:
            tag = node["discriminator"]["propertyName"]
            out = [f"{path}.{tag}"]
            for variant in node["oneOf"]:
                for key, sub in resolve(variant)["properties"].items():
                    if key != tag:
                        out.extend(walk(sub, f"{path}.{key}"))
            return list(dict.fromkeys(out))
        if node.get("type") == "object" and "properties" in node:
            out = []
            for key, sub in node["properties"].items():
                out.extend(walk(sub, f"{path}.{key}" if path else key))
            return out
        return [path]

    return walk(schema, "")


def _samples() -> list[dict[str, str]]:
    from autolearn.datasets.samples import SAMPLES

    return [
        {"value": name, "label": f"{name} ({SAMPLES.get(name).scenario})"}
        for name in SAMPLES.names()
    ]


def _models() -> list[dict[str, str]]:
    from autolearn.models.zoo import ZOO

    return [{"value": "auto", "label": "auto"}] + [
        {"value": name, "label": f"{name} ({ZOO.get(name).params_m:g} M)"} for name in ZOO.names()
    ]


@router.get("/console/task-schema.json")
def schema_route() -> JSONResponse:
    """Public like ``/openapi.json``, which has the same schema: it holds no data."""
    return JSONResponse(task_schema())


@router.get("/console/tasks/new", response_class=HTMLResponse)
def new_task(
    request: Request,
    region: str | None = Query(None, max_length=64),
    copy: int | None = Query(None, ge=1, le=2**31 - 1),
) -> Response:
    """The form; ``?region=`` comes from the Start page, ``?copy=`` from the task list."""
    prefill = {"basic.region": region} if region else {}
    config = {
        "schema_url": "/console/task-schema.json",
        "pickers": PICKERS,
        "options": {"samples": _samples(), "models": _models()},
        "prefill": prefill,
        "copy": copy,
        "name_field": NAME_FIELD,
    }
    return render(request, "task_new.html", form_config=json.dumps(config))


@router.get("/console/tasks/{task_id}", response_class=HTMLResponse)
def training(request: Request, task_id: int = Path(ge=1, le=2**31 - 1)) -> Response:
    """The Training page: the browser follows the task's progress stream."""
    return render(request, "task_train.html", task_id=task_id)


@router.get("/console/tasks", response_class=HTMLResponse)
def task_list(request: Request) -> Response:
    """Task management; the status filter lists the statuses the service has."""
    from autolearn.tasks.states import Status

    return render(request, "tasks.html", statuses=[s.value for s in Status])
