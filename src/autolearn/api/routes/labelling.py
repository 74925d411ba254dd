"""``/api/v1/datasets/{name}/drafts``: labelling over HTTP.

Open a draft on a version, add edits (one or many per request), look at the edited
images, then commit the draft as a new version or discard it. Only the dataset's owner
or an admin may open a draft (committing writes a version), and a draft is seen only by
whoever opened it and by admins: its id alone gives nobody else anything (404).

Routes that name a draft check it in a dependency, so a caller who may not see it gets
the 404 before the request body is even validated.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response, status
from pydantic import BaseModel, Field

from autolearn.api.deps import Actor
from autolearn.api.routes.datasets import (
    ClassParam,
    Labelled,
    Limit,
    Name,
    Offset,
    Ref,
    SplitParam,
    image_url,
    version_ref,
)
from autolearn.datasets.labelling import Edit

router = APIRouter(prefix="/api/v1/datasets", tags=["labelling"])
DraftId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="Draft id (32 hex digits).")]


class EditsBody(BaseModel):
    edits: list[Edit] = Field(
        min_length=1, max_length=1000, description="Applied in order; all or none are kept."
    )


class CommitBody(BaseModel):
    message: str = Field(default="", max_length=500, description="What the edits changed.")


def visible_draft(name: Name, draft_id: DraftId, actor: Actor) -> dict[str, Any]:
    """The draft, if the caller opened it or is an admin (otherwise 404)."""
    from autolearn.datasets.labelling import get_draft

    return get_draft(name, draft_id, actor=actor)


Draft = Annotated[dict[str, Any], Depends(visible_draft)]


@router.get("/{name}/drafts", summary="My drafts on a dataset (an admin's: everyone's)")
def list_(name: Name, actor: Actor) -> list[dict[str, Any]]:
    from autolearn.datasets.labelling import list_drafts

    return list_drafts(name, actor=actor)


@router.post(
    "/{name}/versions/{version}/drafts",
    status_code=status.HTTP_201_CREATED,
    summary="Open a labelling draft on a version (owner or admin)",
)
def open_(name: Name, version: Ref, actor: Actor) -> dict[str, Any]:
    """Nothing changes until the draft is committed; the version itself never does."""
    from autolearn.datasets.labelling import open_draft

    return open_draft(version_ref(name, version), actor=actor)


@router.get("/{name}/drafts/{draft_id}", summary="A draft: its base version and edits")
def show(draft: Draft) -> dict[str, Any]:
    return draft


@router.get("/{name}/drafts/{draft_id}/images", summary="A page of a draft's images, edited")
def images(
    draft: Draft,
    actor: Actor,
    limit: Limit = 100,
    offset: Offset = 0,
    split: SplitParam = None,
    cls: ClassParam = None,
    labelled: Labelled = None,
) -> dict[str, Any]:
    """As the version's image list, with the draft's edits applied."""
    from autolearn.datasets.labelling import list_draft_items

    page = list_draft_items(
        draft["dataset"], draft["id"], labelled, offset, limit, split=split, cls=cls, actor=actor
    )
    for row in page["items"]:
        row["url"] = image_url(draft["dataset"], draft["base"], row["sha256"])
    return {**page, "limit": limit, "offset": offset}


@router.post("/{name}/drafts/{draft_id}/edits", summary="Add edits to a draft")
def add(draft: Draft, body: EditsBody, actor: Actor) -> dict[str, Any]:
    """Ops: ``set_label``/``clear_label`` (classification), ``add_box``/``move_box``/
    ``delete_box`` (detection, ``bbox`` = x1, y1, x2, y2 in pixels), ``add_class``.
    ``item`` is the image's sha256. An edit that does not fit refuses the whole request."""
    from autolearn.datasets.labelling import add_edits

    edits = [e.model_dump(exclude_none=True) for e in body.edits]
    return add_edits(draft["dataset"], draft["id"], edits, actor=actor)


@router.post(
    "/{name}/drafts/{draft_id}/commit",
    status_code=status.HTTP_201_CREATED,
    summary="Commit a draft as the dataset's next version",
    responses={200: {"description": "Identical content: the existing version."}},
)
def commit(
    draft: Draft, actor: Actor, response: Response, body: CommitBody | None = None
) -> dict[str, Any]:
    """The new version's parent is the draft's base; its ``changes`` list what moved."""
    from autolearn.datasets.labelling import commit as commit_draft
    from autolearn.datasets.service import resolve_version

    before = resolve_version(draft["dataset"]).id
    version = commit_draft(draft["dataset"], draft["id"], body.message if body else "", actor=actor)
    if version.id <= before:
        response.status_code = status.HTTP_200_OK
    return version.to_dict()


@router.delete(
    "/{name}/drafts/{draft_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Discard a draft and its edits",
)
def discard(draft: Draft, actor: Actor) -> None:
    from autolearn.datasets.labelling import discard_draft

    discard_draft(draft["dataset"], draft["id"], actor=actor)
