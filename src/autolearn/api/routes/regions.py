"""``/api/v1/regions``: the named worker pools, their capacity and load."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from autolearn.api.deps import Actor

router = APIRouter(prefix="/api/v1/regions", tags=["regions"])


@router.get("", summary="Regions with their queue workers, slots, running and queued tasks")
def list_(actor: Actor) -> list[dict[str, Any]]:
    from autolearn.scheduler.regions import region_overview

    return region_overview(actor=actor)
