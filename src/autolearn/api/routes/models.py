"""``/api/v1/models``: the caller's trained models (tasks that ended with one), a
model's metadata and thresholds, its ``model.pt``, and predictions on an uploaded image.

Loading a model costs far more than one prediction, so the last few ``Predictor``s are
kept in this process (a small LRU, keyed so that a retrained or re-created task never
gets a stale one).
"""

from __future__ import annotations

import io
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from autolearn.api.deps import Actor
from autolearn.api.routes.tasks import MAX_ID, Scenario, TaskId

if TYPE_CHECKING:
    from PIL import Image

    from autolearn.serving.predictor import Predictor

router = APIRouter(prefix="/api/v1/models", tags=["models"])
# The prediction options every predict route takes (a task's model, a service).
Threshold = Annotated[
    float | None,
    Query(ge=0, le=1, description="Detection: one score threshold for every class."),
]
TopK = Annotated[int, Query(ge=1, le=100, description="Classification: how many classes.")]
MAX_IMAGE_BYTES = 20 * 1024 * 1024
CACHE_SIZE = 4
CHUNK_BYTES = 1024 * 1024

_cache: OrderedDict[tuple[Any, ...], Predictor] = OrderedDict()
_cache_lock = threading.Lock()


class ImageError(ValueError):
    """The uploaded bytes are not an image this server can predict on."""


class ImageTooLargeError(ImageError):
    """The upload is larger than ``MAX_IMAGE_BYTES``."""


@router.get("", summary="Trained models, newest first")
def list_(
    actor: Actor,
    scenario: Scenario | None = Query(None, description="Only models of this scenario."),
    limit: int = Query(50, ge=1, le=500, description="Page size."),
    offset: int = Query(0, ge=0, le=MAX_ID, description="Models to skip."),
) -> dict[str, Any]:
    """Tasks that ended with a model: scenario, metric and value, classes, input size."""
    from autolearn.tasks.trained import trained_page

    return trained_page(scenario, limit=limit, offset=offset, actor=actor)


@router.get("/{task_id}", summary="A model's metadata and per-class thresholds")
def show(task_id: TaskId, actor: Actor) -> dict[str, Any]:
    """``meta`` is ``model/meta.json``: what rebuilding and feeding the model needs
    (scenario, architecture, classes, input size, normalisation) and its best metrics."""
    from autolearn.tasks.trained import get_model

    return get_model(task_id, actor=actor)


@router.get(
    "/{task_id}/download",
    summary="The model file (model.pt)",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "model.pt"}},
)
def download(task_id: TaskId, actor: Actor) -> StreamingResponse:
    """Weights and metadata in one file: ``autolearn predict`` and ``Predictor.from_file``
    need nothing else."""
    from autolearn.storage import open_store
    from autolearn.tasks.results import MODEL_KEY
    from autolearn.tasks.trained import model_file_task

    task = model_file_task(task_id, actor=actor)
    handle = open_store(task["output_uri"]).open(MODEL_KEY)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", task["name"]).strip("_") or "model"
    return StreamingResponse(
        _chunks(handle),
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{safe}-task{task_id}.pt"'},
    )


def _chunks(handle: IO[bytes]) -> Iterator[bytes]:
    """The file in pieces (Starlette reads a plain iterator in its threadpool); closed
    at the end or when the client goes away."""
    try:
        while chunk := handle.read(CHUNK_BYTES):
            yield chunk
    finally:
        handle.close()


@router.post(
    "/{task_id}/predict",
    summary="Predict on one image (the raw bytes as the body)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"image/*": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def predict(
    task_id: TaskId,
    request: Request,
    actor: Actor,
    threshold: Threshold = None,
    top_k: TopK = 5,
) -> dict[str, Any]:
    """Classification: the top classes with scores; detection: boxes in the image's
    pixels, kept by each class's tuned threshold (or ``threshold``). The image is read
    as training read it (EXIF orientation, RGB)."""
    from autolearn.tasks.trained import model_file_task

    task = await run_in_threadpool(model_file_task, task_id, actor=actor)
    data = await _read_limited(request)
    return await run_in_threadpool(_predict, task, data, threshold, top_k)


async def _read_limited(request: Request) -> bytes:
    """The body, refused as soon as it passes ``MAX_IMAGE_BYTES``."""
    body = await read_body(request, MAX_IMAGE_BYTES)
    if not body:
        raise ImageError("the body is empty; send the image file's bytes as the request body")
    return bytes(body)


def image_too_large() -> ImageTooLargeError:
    return ImageTooLargeError(
        f"the image is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MiB; send a smaller one"
    )


def declared_above(request: Request, limit: int) -> bool:
    """Whether the request's Content-Length already says it is over ``limit``."""
    declared = request.headers.get("content-length", "")
    return declared.isascii() and declared.isdigit() and int(declared) > limit


async def read_body(request: Request, limit: int) -> bytearray:
    """The raw body, refused (``image_too_large``) as soon as its declared or received size
    passes ``limit``: a lying or chunked client is cut off while streaming."""
    if declared_above(request, limit):
        raise image_too_large()
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise image_too_large()
    return body


def _predict(
    task: dict[str, Any], data: bytes, threshold: float | None, top_k: int
) -> dict[str, Any]:
    image = decode_image(data)
    predictor = predictor_for(task)
    result = predictor.predict([image], threshold=threshold, top_k=top_k)[0]
    result.pop("image", None)
    return {"task_id": task["id"], "scenario": predictor.scenario, **result}


def decode_image(data: bytes) -> Image.Image:
    """Upright RGB pixels from uploaded bytes, decoded now (a corrupt or truncated
    upload fails here with a 422), refusing more pixels than imports allow."""
    from PIL import Image, ImageOps

    from autolearn.datasets.manifest import to_rgb
    from autolearn.serving.predictor import READ_ERRORS
    from autolearn.settings import get_settings

    limit = get_settings().import_max_pixels
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > limit:
                raise ImageError(
                    f"the image has {img.width}×{img.height} pixels, over the limit of "
                    f"{limit:,}; downscale it"
                )
            upright = ImageOps.exif_transpose(img)
            rgb = to_rgb(upright if upright is not None else img)
            rgb.load()
            return img.copy() if rgb is img else rgb
    except ImageError:
        raise
    except READ_ERRORS as exc:
        raise ImageError(f"the body is not a readable image: {exc}") from None


def predictor_for(task: dict[str, Any]) -> Predictor:
    """The task's ``Predictor``, from the cache when its model has not changed since.

    The key holds the creation time (SQLite may give a deleted task's id to a new one)
    and the finish time and epoch (a resumed or still running task writes a new best
    model)."""
    from autolearn.serving.predictor import Predictor
    from autolearn.storage import open_store
    from autolearn.tasks.results import MODEL_KEY

    key = (task["id"], task["created_at"], task["finished_at"], task["epoch"])
    with _cache_lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    predictor = Predictor.from_file(open_store(task["output_uri"]).uri(MODEL_KEY))
    with _cache_lock:
        for old in [k for k in _cache if k[0] == task["id"]]:
            del _cache[old]
        _cache[key] = predictor
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return predictor


def forget_predictor(task_id: int) -> None:
    """Drop a deleted task's cached model."""
    with _cache_lock:
        for key in [k for k in _cache if k[0] == task_id]:
            del _cache[key]
