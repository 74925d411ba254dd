"""``/api/v1/services``: online prediction endpoints for published model versions, served
by the API processes themselves (micro-batched, see ``serving/batcher.py``): deploy,
list, show, stop, start, delete, health and predict."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from autolearn.api.deps import Actor
from autolearn.api.routes.models import (
    MAX_IMAGE_BYTES,
    ImageError,
    Threshold,
    TopK,
    _read_limited,
    declared_above,
    decode_image,
    image_too_large,
    read_body,
)
from autolearn.api.routes.tasks import MAX_ID
from autolearn.serving import services
from autolearn.serving.manager import manager

router = APIRouter(prefix="/api/v1/services", tags=["services"])
ServiceId = Annotated[int, Path(ge=1, le=MAX_ID, description="Service ID.")]
# base64 makes 4 bytes of 3, plus the JSON or multipart framing around it
MAX_BODY_BYTES = MAX_IMAGE_BYTES * 4 // 3 + 64 * 1024
IMAGE_FIELD = "image"
PREDICT_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {IMAGE_FIELD: {"type": "string", "format": "binary"}},
                "required": [IMAGE_FIELD],
            }
        },
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"image_base64": {"type": "string"}},
                "required": ["image_base64"],
            }
        },
        "image/*": {"schema": {"type": "string", "format": "binary"}},
    },
}


class DeployBody(BaseModel):
    """The model version to serve and how to batch and queue its requests."""

    model: str = Field(
        min_length=1, max_length=80, description="The version: its id, name:vN, or a name."
    )
    name: str | None = Field(None, max_length=128, description="Default: <model>-v<N>.")
    max_batch: int = Field(16, ge=1, le=256)
    max_wait_ms: float = Field(5.0, ge=0, le=1000)
    queue_size: int = Field(64, ge=1, le=10_000)
    micro_batching: bool = True
    threads: int | None = Field(None, ge=1, le=64)


@router.post("", status_code=status.HTTP_201_CREATED, summary="Deploy a model version")
def deploy(body: DeployBody, actor: Actor) -> dict[str, Any]:
    """A running service; this process starts loading its model at once (``health``
    says when it is ``ready``; until then predictions answer 503 ``not_ready``)."""
    config = body.model_dump(exclude={"model", "name"})
    view = services.deploy(body.model, body.name, config, actor=actor)
    manager().ensure(view)
    return view


@router.get("", summary="My services, newest first")
def list_(
    actor: Actor,
    limit: int = Query(50, ge=1, le=500, description="Page size."),
    offset: int = Query(0, ge=0, le=MAX_ID, description="Services to skip."),
) -> dict[str, Any]:
    return services.list_services(limit, offset, actor=actor)


@router.get("/{service_id}", summary="One service: its model version and config")
def show(service_id: ServiceId, actor: Actor) -> dict[str, Any]:
    return services.get_service(service_id, actor=actor)


@router.post("/{service_id}/stop", summary="Stop answering and free the model")
def stop(service_id: ServiceId, actor: Actor) -> dict[str, Any]:
    view = services.stop_service(service_id, actor=actor)
    manager().unload(service_id)
    return view


@router.post("/{service_id}/start", summary="Serve a stopped service again")
def start(service_id: ServiceId, actor: Actor) -> dict[str, Any]:
    """Also retries a model that failed to load."""
    view = services.start_service(service_id, actor=actor)
    manager().unload(service_id)
    manager().ensure(view)
    return view


@router.delete("/{service_id}", summary="Delete a service (its model version stays)")
def delete(service_id: ServiceId, actor: Actor) -> dict[str, Any]:
    gone = services.delete_service(service_id, actor=actor)
    manager().unload(service_id)
    return gone


@router.get("/{service_id}/health", summary="Loaded, ready, queue depth, batch statistics")
def health(service_id: ServiceId, actor: Actor) -> dict[str, Any]:
    """As seen by the API process that answers (``pid``); counters since it loaded."""
    return manager().health(services.get_service(service_id, actor=actor))


@router.post(
    "/{service_id}/predict",
    summary="Predict on one image (multipart field 'image', JSON image_base64, or raw bytes)",
    openapi_extra={"requestBody": PREDICT_BODY},
)
async def predict(
    service_id: ServiceId,
    request: Request,
    actor: Actor,
    threshold: Threshold = None,
    top_k: TopK = 5,
) -> dict[str, Any]:
    """429 ``overloaded`` when the service's queue is full; 503 ``not_ready`` while its
    model loads or when it is stopped."""
    started = time.perf_counter()
    view = await run_in_threadpool(services.get_service, service_id, actor)
    entry = manager().ready(view)
    data = await read_image_bytes(request)
    image = await run_in_threadpool(decode_image, data)
    assert entry.batcher is not None  # ready() returns only loaded services
    result = await asyncio.wrap_future(entry.batcher.submit(image, threshold, top_k))
    return {
        "service": service_id,
        "model": view["model"]["ref"],
        **result,
        "latency_ms": round((time.perf_counter() - started) * 1000, 2),
    }


async def read_image_bytes(request: Request) -> bytes:
    """The image's bytes from a multipart form (field ``image``), a JSON body
    (``image_base64``) or a raw image body, refused above ``MAX_IMAGE_BYTES``."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        return await _from_form(request)
    if kind == "application/json":
        return await _from_json(request)
    return await _read_limited(request)


async def _from_form(request: Request) -> bytes:
    if declared_above(request, MAX_BODY_BYTES):
        raise image_too_large()
    form = await request.form(max_files=1, max_fields=10)
    try:
        upload = form.get(IMAGE_FIELD)
        if upload is None or isinstance(upload, str):
            raise ImageError(f"send the image file as the multipart field {IMAGE_FIELD!r}")
        data = await upload.read(MAX_IMAGE_BYTES + 1)
    finally:
        await form.close()
    if len(data) > MAX_IMAGE_BYTES:
        raise image_too_large()
    if not data:
        raise ImageError(f"the multipart field {IMAGE_FIELD!r} is empty")
    return data


async def _from_json(request: Request) -> bytes:
    body = await read_body(request, MAX_BODY_BYTES)
    try:
        encoded = str(json.loads(body)["image_base64"])
        encoded = encoded.split(",", 1)[1] if encoded.startswith("data:") else encoded
        data = base64.b64decode(encoded, validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise ImageError('send JSON {"image_base64": "<the image file in base64>"}') from None
    if len(data) > MAX_IMAGE_BYTES:
        raise image_too_large()
    if not data:
        raise ImageError("image_base64 is empty")
    return data
