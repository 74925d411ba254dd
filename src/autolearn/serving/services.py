"""Online prediction services as rows: deploy a published model version, list, show,
stop, start and delete. A service is served by the platform's API processes
(``serving/manager.py`` loads its model there when it is first needed); this module
only records what should be served and how, so the CLI on the embedded database and the
API share it.

Actor-aware like the task service: ``actor`` ``None`` is the embedded local operator;
another member's service answers as not found.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from autolearn.accounts.principal import Principal, may_access, owner_filter
from autolearn.db import session_scope
from autolearn.db.models import Service, iso, utcnow
from autolearn.models.published import READY, version_row
from autolearn.serving.errors import ServiceError, ServiceNotFoundError

RUNNING, STOPPED = "RUNNING", "STOPPED"


class ServiceConfig(BaseModel):
    """How a service batches and queues requests (stored on the row as a dict)."""

    model_config = ConfigDict(extra="forbid")

    max_batch: int = Field(16, ge=1, le=256, description="Most requests run as one batch.")
    max_wait_ms: float = Field(
        5.0, ge=0, le=1000, description="How long a batch waits for more requests."
    )
    queue_size: int = Field(
        64, ge=1, le=10_000, description="Requests waiting beyond this are refused with 429."
    )
    micro_batching: bool = Field(
        True, description="Gather concurrent requests into batches (off: each runs alone)."
    )
    threads: int | None = Field(
        None, ge=1, le=64, description="ONNX Runtime intra-op threads (None: its default)."
    )


def parse_config(config: dict[str, Any] | None) -> ServiceConfig:
    """The config with defaults filled in; a bad value is a ``ServiceError`` naming it."""
    try:
        return ServiceConfig.model_validate(config or {})
    except ValidationError as exc:
        detail = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ServiceError(f"service config: {detail}") from None


def service_view(row: Service) -> dict[str, Any]:
    """A service as every face shows it (the model version inlined)."""
    version = row.model_version
    return {
        "id": row.id,
        "name": row.name,
        "owner_id": row.owner_id,
        "status": row.status,
        "model": {
            "id": version.id,
            "ref": f"{version.name}:v{version.version}",
            "name": version.name,
            "version": version.version,
            "scenario": version.scenario,
            "format": version.format,
            "profile": version.profile,
            "classes": list((version.meta or {}).get("classes") or []),
            "artifact_uri": version.artifact_uri,
        },
        "config": parse_config(row.config).model_dump(),
        "endpoint": f"/api/v1/services/{row.id}/predict",
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }


def service_row(s: Session, service_id: int, actor: Principal | None) -> Service:
    """The service, if ``actor`` may see it; another member's does not exist for them."""
    row = s.get(Service, service_id)
    if row is None or not may_access(actor, row.owner_id):
        raise ServiceNotFoundError(
            f"service {service_id} does not exist; `autolearn service list` shows services"
        )
    return row


def deploy(
    model_ref: str | int,
    name: str | None = None,
    config: dict[str, Any] | None = None,
    actor: Principal | None = None,
) -> dict[str, Any]:
    """A new running service for a ready model version the caller can see."""
    settings = parse_config(config)
    with session_scope() as s:
        version = version_row(s, model_ref, actor)
        if version.status != READY:
            raise ServiceError(
                f"model version {version.name}:v{version.version} is {version.status}; "
                f"only a ready version can be deployed"
            )
        label = (name or f"{version.name}-v{version.version}").strip()
        if not label or len(label) > 128:
            raise ServiceError("name: give 1-128 characters")
        row = Service(
            owner_id=actor.user_id if actor is not None else None,
            name=label,
            model_version_id=version.id,
            status=RUNNING,
            config=settings.model_dump(),
        )
        s.add(row)
        s.flush()
        return service_view(row)


def list_services(
    limit: int = 50, offset: int = 0, actor: Principal | None = None
) -> dict[str, Any]:
    """The caller's services, newest first, and how many there are."""
    owner = owner_filter(actor)
    where = [Service.owner_id == owner] if owner is not None else []
    with session_scope() as s:
        total = s.scalar(select(func.count()).select_from(Service).where(*where)) or 0
        rows = s.scalars(
            select(Service).where(*where).order_by(Service.id.desc()).limit(limit).offset(offset)
        )
        items = [service_view(r) for r in rows]
    return {"items": items, "total": total, "limit": limit, "offset": offset}


def get_service(service_id: int, actor: Principal | None = None) -> dict[str, Any]:
    with session_scope() as s:
        return service_view(service_row(s, service_id, actor))


def _set_status(service_id: int, status: str, actor: Principal | None) -> dict[str, Any]:
    with session_scope() as s:
        row = service_row(s, service_id, actor)
        if row.status != status:
            row.status, row.updated_at = status, utcnow()
        return service_view(row)


def stop_service(service_id: int, actor: Principal | None = None) -> dict[str, Any]:
    """Stop answering (503) and free the model in the API processes; the row stays."""
    return _set_status(service_id, STOPPED, actor)


def start_service(service_id: int, actor: Principal | None = None) -> dict[str, Any]:
    """Serve a stopped service again (its model loads on first use)."""
    return _set_status(service_id, RUNNING, actor)


def delete_service(service_id: int, actor: Principal | None = None) -> dict[str, Any]:
    """Remove the service; its model version stays published."""
    with session_scope() as s:
        row = service_row(s, service_id, actor)
        view = service_view(row)
        s.delete(row)
    return {"id": service_id, "name": view["name"], "deleted": True, "model": view["model"]}
