"""``/api/v1/model-versions``: publish a task's model (or an optimised ONNX profile of it)
as an immutable, numbered version; list, show, download and delete versions. A version is
named by its id, ``name:vN`` or ``name`` (its latest ready version)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from autolearn.api.deps import Actor
from autolearn.api.routes.models import _chunks
from autolearn.api.routes.tasks import MAX_ID
from autolearn.models import published

router = APIRouter(prefix="/api/v1/model-versions", tags=["model versions"])
Ref = Annotated[
    str,
    Path(
        min_length=1,
        max_length=80,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$",
        description="The version's id, name:vN, or a name (its latest ready version).",
    ),
]


class PublishBody(BaseModel):
    """What to publish and as which name."""

    task_id: int = Field(ge=1, le=MAX_ID, description="The task whose model is published.")
    name: str = Field(
        min_length=1, max_length=64, description="The model's name; versions count up per name."
    )
    profile: str = Field(
        "pytorch",
        max_length=32,
        description="'pytorch' (the task's model.pt) or an optimisation profile (cpu-int8, …).",
    )
    description: str = Field("", max_length=2000)


@router.post("", status_code=status.HTTP_201_CREATED, summary="Publish a task's model")
def publish(body: PublishBody, actor: Actor) -> dict[str, Any]:
    """Copies the artifact into ``models/<name>/v<N>/`` with its model card; the answer
    is the new version (``ready``). An optimised profile is refused (422
    ``publish_refused``) unless its report says ``ready``."""
    return published.publish(body.task_id, body.name, body.profile, body.description, actor=actor)


@router.get("", summary="Published model versions, newest first")
def list_(
    actor: Actor,
    name: str | None = Query(None, max_length=64, description="Only this model's versions."),
    limit: int = Query(50, ge=1, le=500, description="Page size."),
    offset: int = Query(0, ge=0, le=MAX_ID, description="Versions to skip."),
) -> dict[str, Any]:
    return published.list_versions(name, limit=limit, offset=offset, actor=actor)


@router.get("/{ref}", summary="One version: metadata, metrics, model card, services")
def show(ref: Ref, actor: Actor) -> dict[str, Any]:
    return published.get_version(ref, actor=actor)


@router.get(
    "/{ref}/download",
    summary="The version's artifact (model.pt or model.onnx)",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "the file"}},
)
def download(ref: Ref, actor: Actor) -> StreamingResponse:
    """``autolearn predict --model`` and ``serving.runtime.load_runtime`` read it as it is."""
    view, handle = published.open_artifact(ref, actor=actor)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", published.artifact_filename(view))
    return StreamingResponse(
        _chunks(handle),
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{safe}"'},
    )


@router.delete("/{ref}", summary="Delete a version no service uses")
def delete(ref: Ref, actor: Actor) -> dict[str, Any]:
    """409 ``model_version_in_use`` while a service (running or stopped) uses it."""
    return published.delete_version(ref, actor=actor)
