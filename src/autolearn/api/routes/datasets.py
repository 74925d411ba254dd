"""``/api/v1/datasets``: the data center's datasets and their immutable versions (read
side; upload and labelling come with users and permissions)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from autolearn.api.deps import Actor

router = APIRouter(prefix="/api/v1/datasets", tags=["datasets"])
Name = Annotated[str, Path(min_length=1, max_length=200, description="Dataset name.")]
Ref = Annotated[
    str,
    Path(min_length=1, max_length=300, description="Version: N, vN or @<hash prefix>."),
]


@router.get("", summary="Datasets with their latest version")
def list_(actor: Actor) -> list[dict[str, Any]]:
    from autolearn.datasets.service import list_datasets

    return list_datasets(actor=actor)


@router.get("/{name}", summary="A dataset and every version, oldest first")
def show(name: Name, actor: Actor) -> dict[str, Any]:
    from autolearn.datasets.service import show_dataset

    return show_dataset(name, actor=actor)


@router.get("/{name}/versions/{version}", summary="One version: counts, report, lineage")
def version(name: Name, version: Ref, actor: Actor) -> dict[str, Any]:
    """``version`` is a number (``3`` or ``v3``) or a content-hash prefix (``@3fa2c1``)."""
    from autolearn.datasets.service import resolve_version

    ref = f"{name}{version}" if version.startswith("@") else f"{name}:{version}"
    return resolve_version(ref, actor=actor).to_dict()
