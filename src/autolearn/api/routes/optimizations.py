"""``/api/v1/models/{task_id}/optimizations`` and ``/export``: optimise a trained model for
a target (the form's "model optimization", later), read the reports, and download the
model as ONNX or TorchScript with its model card.

An optimisation takes from seconds to minutes (export, calibration, the accuracy gate,
timing), so ``POST`` answers 202 at once and runs it in a background thread of this
process; ``GET …/optimizations/{profile}`` shows ``running`` until the report is final.
One optimisation runs at a time per server process: each uses every core.
"""

from __future__ import annotations

import logging
import threading
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from autolearn.api.deps import Actor
from autolearn.api.routes.tasks import TaskId
from autolearn.optimize.errors import OptimizeError
from autolearn.tasks.service import TaskStateError

router = APIRouter(prefix="/api/v1/models", tags=["models"])
log = logging.getLogger("autolearn.api")
ProfileId = Annotated[
    str, Path(pattern=r"^[a-z0-9_-]{1,32}$", description="Profile id, e.g. cpu-int8.")
]
ExportFormat = Literal["onnx", "torchscript", "card"]

_running: set[tuple[int, str]] = set()
_running_lock = threading.Lock()
_one_at_a_time = threading.Semaphore(1)
_threads: list[threading.Thread] = []


class OptimizeRequest(BaseModel):
    """The form's model optimisation section, for a model that is already trained."""

    model_config = ConfigDict(extra="forbid")
    target: Literal["cpu", "gpu-t4", "gpu-v100", "gpu-a10"] = "cpu"
    level: Literal["NO_LOSS", "FP16", "INT8"] = "INT8"
    max_metric_drop: float = Field(1.0, ge=0, le=100, description="Gate, percentage points.")


@router.post(
    "/{task_id}/optimizations",
    status_code=202,
    summary="Optimise a trained model for a target (runs in the background)",
)
def optimize(task_id: TaskId, body: OptimizeRequest, actor: Actor) -> dict[str, Any]:
    """Answers 202 with the profile id; follow ``GET …/optimizations/{profile}``. A
    profile this server cannot run (FP16 on the CPU; a GPU target without a GPU) is
    refused now, not later."""
    from autolearn.optimize.profiles import Profile, engine_here
    from autolearn.optimize.service import begin

    profile = Profile(body.target, body.level)
    engine_here(profile)  # a profile this server cannot run is refused now, not later
    key = (task_id, profile.id)
    with _running_lock:
        if key in _running:
            raise TaskStateError(f"optimisation {profile.id} of task {task_id} is running")
        _running.add(key)
    try:
        job = begin(task_id, body.target, body.level, tolerance=body.max_metric_drop, actor=actor)
    except BaseException:
        _forget(key)
        raise
    thread = threading.Thread(target=_run, args=(key, job), name=f"optimize-{key}", daemon=True)
    _threads[:] = [t for t in _threads if t.is_alive()]  # a long-lived server keeps no dead ones
    _threads.append(thread)
    thread.start()
    return {"task_id": task_id, "profile": profile.id, "status": "running"}


def _run(key: tuple[int, str], job: Any) -> None:
    try:
        with _one_at_a_time:
            job.run()
    except Exception as exc:  # the stored report says why; the log keeps the trace
        log.warning("optimisation %s of task %d failed: %s", key[1], key[0], exc)
    finally:
        _forget(key)


def _forget(key: tuple[int, str]) -> None:
    with _running_lock:
        _running.discard(key)


def shutdown(timeout: float = 600.0) -> None:
    """Let running optimisations finish before the process exits (the app's lifespan
    calls this): a thread killed mid-way would leave a ``running`` report behind and
    ONNX Runtime's thread pool aborting the interpreter."""
    for thread in list(_threads):
        thread.join(timeout)
    _threads.clear()


@router.get("/{task_id}/optimizations", summary="A model's optimisation reports")
def list_optimizations(task_id: TaskId, actor: Actor) -> dict[str, Any]:
    """One report per profile, newest first: status (running, ready, refused, failed,
    interrupted), the engine and why, the gate's numbers, latency and throughput before
    and after."""
    from autolearn.optimize.service import list_optimizations as reports

    return {"task_id": task_id, "optimizations": reports(task_id, actor=actor)}


@router.get("/{task_id}/optimizations/{profile}", summary="One optimisation report")
def show_optimization(task_id: TaskId, profile: ProfileId, actor: Actor) -> dict[str, Any]:
    from autolearn.optimize.service import get_optimization

    try:
        return get_optimization(task_id, profile, actor=actor)
    except OptimizeError as exc:
        from autolearn.tasks.service import ModelNotFoundError

        raise ModelNotFoundError(str(exc)) from None


@router.get(
    "/{task_id}/export/{fmt}",
    summary="The model as ONNX or TorchScript, or its model card",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}, "application/json": {}}}},
)
def export(task_id: TaskId, fmt: ExportFormat, actor: Actor) -> Any:
    """Built from the task's best model on each call (a resumed task may have improved):
    ``onnx`` (dynamic batch; labels, mean/std, input size, thresholds in the metadata),
    ``torchscript`` (metadata as the extra file ``meta.json``), ``card`` (the model card
    as JSON: dataset version and hash, the form, metrics, library versions)."""
    from autolearn.api.routes.models import _chunks
    from autolearn.optimize.exporting import export_task, model_card
    from autolearn.storage import open_store
    from autolearn.tasks.results import read_meta
    from autolearn.tasks.trained import model_file_task

    task = model_file_task(task_id, actor=actor)
    if fmt == "card":
        return JSONResponse(model_card(task_id, "pytorch", read_meta(task) or {}))
    done = export_task(task_id, fmt, actor=actor)
    parent, _, name = done["uri"].rpartition("/")
    filename = f"task{task_id}-{done['filename']}"
    return StreamingResponse(
        _chunks(open_store(parent).open(name)),
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
