"""``/api/v1/datasets``: the data center's datasets, their immutable versions, the
images of a version with their labels and boxes, and deleting a dataset.

Uploads and imports live in ``dataset_imports.py``, labelling drafts in ``labelling.py``
(same prefix). Every route scopes to the caller: a member reads their own datasets and
the shared ones, and changes only their own.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse

from autolearn.api.deps import Actor

router = APIRouter(prefix="/api/v1/datasets", tags=["datasets"])
MAX_OFFSET = 2**31 - 1
Name = Annotated[str, Path(min_length=1, max_length=200, description="Dataset name.")]
Ref = Annotated[
    str,
    Path(min_length=1, max_length=300, description="Version: N, vN or @<hash prefix>."),
]
Sha256 = Annotated[
    str,
    Path(pattern=r"^[0-9a-fA-F]{64}$", description="The image's sha256 (64 hex digits)."),
]
Limit = Annotated[int, Query(ge=1, le=1000, description="Page size.")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip.")]
SplitParam = Annotated[
    Literal["train", "val", "none"] | None,
    Query(description="Only this split; 'none': images the task will split."),
]
ClassParam = Annotated[
    str | None,
    Query(
        alias="class",
        max_length=200,
        description="Only images labelled with, or holding a box of, this class.",
    ),
]
Labelled = Annotated[
    bool | None, Query(description="Only labelled (true) or unlabelled (false) images.")
]
_CHUNK = 1 << 16


def version_ref(name: str, version: str) -> str:
    """The service reference for a path's ``{name}`` and ``{version}``."""
    return f"{name}{version}" if version.startswith("@") else f"{name}:{version}"


def image_url(name: str, version_ref_: str, sha256: str) -> str:
    """Where a listed image's bytes are (``version_ref_`` is ``name:vN``)."""
    number = version_ref_.rsplit(":v", 1)[-1]
    return f"/api/v1/datasets/{name}/versions/{number}/images/{sha256}"


@router.get("", summary="Datasets with their latest version")
def list_(actor: Actor) -> list[dict[str, Any]]:
    from autolearn.datasets.service import list_datasets

    return list_datasets(actor=actor)


@router.get("/{name}", summary="A dataset and every version, oldest first")
def show(name: Name, actor: Actor) -> dict[str, Any]:
    from autolearn.datasets.service import show_dataset

    return show_dataset(name, actor=actor)


@router.delete("/{name}", summary="Delete a dataset no task uses (owner or admin)")
def delete(name: Name, actor: Actor) -> dict[str, Any]:
    """Removes the dataset, its versions, manifests and labelling drafts. Refused (409,
    ``dataset_in_use``) while any task uses one of its versions: a task keeps the exact
    data its model saw. Image blobs stay in the store: they are content-addressed and
    may be shared with other datasets."""
    from autolearn.datasets.deletion import delete_dataset

    return delete_dataset(name, actor=actor)


@router.get("/{name}/versions/{version}", summary="One version: counts, report, lineage")
def version(name: Name, version: Ref, actor: Actor) -> dict[str, Any]:
    """``version`` is a number (``3`` or ``v3``) or a content-hash prefix (``@3fa2c1``)."""
    from autolearn.datasets.service import resolve_version

    return resolve_version(version_ref(name, version), actor=actor).to_dict()


@router.get("/{name}/versions/{version}/images", summary="A page of a version's images")
def images(
    name: Name,
    version: Ref,
    actor: Actor,
    limit: Limit = 100,
    offset: Offset = 0,
    split: SplitParam = None,
    cls: ClassParam = None,
    labelled: Labelled = None,
) -> dict[str, Any]:
    """Each image with its sha256, file name, size, split, and its label
    (classification) or boxes ``{label, bbox: [x1, y1, x2, y2]}`` in pixels (detection);
    ``url`` serves its bytes."""
    from autolearn.datasets.labelling import list_items

    page = list_items(
        version_ref(name, version), labelled, offset, limit, split=split, cls=cls, actor=actor
    )
    for row in page["items"]:
        row["url"] = image_url(name, page["version"], row["sha256"])
    return {**page, "limit": limit, "offset": offset}


@router.get(
    "/{name}/versions/{version}/images/{sha256}",
    summary="The bytes of one image, as stored",
    response_class=StreamingResponse,
    responses={200: {"content": {"image/*": {}}, "description": "The image file."}},
)
def image(name: Name, version: Ref, sha256: Sha256, actor: Actor) -> StreamingResponse:
    """Content-addressed, so the answer never changes: clients may cache it for good."""
    from autolearn.datasets.labelling import find_image

    store, item = find_image(version_ref(name, version), sha256.lower(), actor=actor)
    media = mimetypes.guess_type(f"x{PurePosixPath(item.blob).suffix}")[0]
    return StreamingResponse(
        _read(store.open(item.blob)),
        media_type=media or "application/octet-stream",
        headers={
            "Cache-Control": "private, max-age=31536000, immutable",
            "ETag": f'"{item.sha256}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


def _read(stream: Any) -> Iterator[bytes]:
    """Chunks of ``stream``, closed at the end (or when the client goes away)."""
    with stream:
        while chunk := stream.read(_CHUNK):
            yield chunk
