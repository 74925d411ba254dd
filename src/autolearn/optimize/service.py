"""Optimise or export a trained task's model, and the report that says what happened.

``optimize_task`` (after training when the form asks, or later on any trained task):

1. the profile (target × level) and the engine this worker can run it with (``profiles``);
2. the task's validation split and calibration images from its training split, from the
   pinned dataset version, as the worker built them;
3. fp32 ONNX export, then INT8 quantisation when asked;
4. the gate (``parity``): the original and the optimised model on the validation split;
5. speed (``bench``): batch-1 latency p50/p99, batch-32 throughput, size, before and after;
6. ``optimized/<profile>/model.onnx`` only when accepted, then ``report.json`` last, so a
   model file never exists without the report that vouches for it.

The report's ``status``: ``running`` (written first), ``ready`` (accepted: publishable),
``refused`` (the gate: the numbers say why), ``failed`` (the error says why).
"""

from __future__ import annotations

import logging
import os
import platform
import socket
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from autolearn.optimize import bench, parity
from autolearn.optimize.errors import OptimizeError, ProfileError
from autolearn.optimize.profiles import TORCH_COMPILE, Engine, Profile, engine_here
from autolearn.tasks.results import optimized_key

if TYPE_CHECKING:
    from PIL import Image
    from sqlalchemy import Engine as DbEngine

    from autolearn.accounts import Principal
    from autolearn.serving.predictor import BasePredictor, Predictor

log = logging.getLogger("autolearn.optimize")

DEFAULT_TOLERANCE = 1.0  # percentage points of the task's metric
CALIBRATION_IMAGES = 64
CALIBRATION_BATCH = 8
Progress = Callable[[str], None]


def optimize_task(
    task_id: int,
    target: str,
    level: str,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    actor: Principal | None = None,
    engine: DbEngine | None = None,
    calibration: Sequence[Image.Image] | None = None,
    progress: Progress | None = None,
    bench_seconds: float = 3.0,
) -> dict[str, Any]:
    """Optimise task ``task_id``'s best model; returns the report (also stored).
    ``calibration`` replaces the images drawn from the training split (tests break it
    on purpose to see the gate refuse)."""
    job = begin(task_id, target, level, tolerance=tolerance, actor=actor, engine=engine)
    return job.run(calibration=calibration, progress=progress, bench_seconds=bench_seconds)


@dataclass
class Job:
    """An optimisation whose ``running`` report is written; ``run`` does the work."""

    task: dict[str, Any]
    profile: Profile
    tolerance: float
    engine: DbEngine | None
    report: dict[str, Any]

    def run(
        self,
        calibration: Sequence[Image.Image] | None = None,
        progress: Progress | None = None,
        bench_seconds: float = 3.0,
    ) -> dict[str, Any]:
        from autolearn.serving.predictor import Predictor, model_uri
        from autolearn.storage import open_store

        say = progress or (lambda _: None)
        task, profile, report = self.task, self.profile, self.report
        store = open_store(task["output_uri"])
        try:
            chosen = engine_here(profile)
            report["engine"] = {
                "name": chosen.name,
                "precision": chosen.precision,
                "why": chosen.reason,
            }
            device = "cuda" if profile.gpu else "cpu"  # "before" is eager fp32 on the target
            original = Predictor.from_file(model_uri(task), device=device)
            train, val = _task_samples(task, self.engine, original.classes)
            images = calibration if calibration is not None else _calibration_images(train)
            args = (original, profile, chosen, val, images, self.tolerance, say, bench_seconds)
            report.update(_optimise(*args, store))
        except Exception as exc:  # the report says why; the caller sees it too
            report.update(status="failed", message=f"{type(exc).__name__}: {exc}")
            report["finished_at"] = _now()
            store.put_json(optimized_key(profile.id, "report.json"), report)
            raise
        report["finished_at"] = _now()
        store.put_json(optimized_key(profile.id, "report.json"), report)
        log.info("optimisation %s of task %d: %s", profile.id, task["id"], report["message"])
        return report


def begin(
    task_id: int,
    target: str,
    level: str,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    actor: Principal | None = None,
    engine: DbEngine | None = None,
) -> Job:
    """Check the task and the profile (errors now, not in the background) and store the
    ``running`` report, so that a caller polling right after sees it."""
    from autolearn.storage import open_store
    from autolearn.tasks.results import read_meta
    from autolearn.tasks.trained import model_file_task

    task = model_file_task(task_id, engine, actor)
    try:
        profile = Profile(target, level)
    except ProfileError as exc:
        raise OptimizeError(str(exc)) from None
    report = _report_head(task, profile, tolerance, read_meta(task) or {})
    open_store(task["output_uri"]).put_json(optimized_key(profile.id, "report.json"), report)
    return Job(task, profile, tolerance, engine, report)


def _optimise(
    original: Predictor,
    profile: Profile,
    chosen: Engine,
    val: Sequence[Any],
    calibration: Sequence[Image.Image],
    tolerance: float,
    say: Progress,
    bench_seconds: float,
    store: Any,
) -> dict[str, Any]:
    from autolearn.optimize.export import read_metadata
    from autolearn.serving.onnx_predictor import OnnxPredictor, make_session

    if chosen.name == TORCH_COMPILE:
        return _optimise_compiled(
            original, profile, chosen, val, tolerance, say, bench_seconds, store
        )
    with tempfile.TemporaryDirectory() as tmp:
        path = _build(original, profile, calibration, Path(tmp), say)
        session = make_session(str(path), gpu=profile.gpu)
        optimised = OnnxPredictor(session, read_metadata(path))
        args = (original, optimised, chosen, val, tolerance, say, bench_seconds)
        verdict, report = _compare(*args, path.stat().st_size)
        if verdict.accepted:
            store.put_bytes(optimized_key(profile.id, "model.onnx"), path.read_bytes())
        return {**report, "providers": optimised.providers, "meta": optimised.meta}


def _optimise_compiled(
    original: Predictor,
    profile: Profile,
    chosen: Engine,
    val: Sequence[Any],
    tolerance: float,
    say: Progress,
    bench_seconds: float,
    store: Any,
) -> dict[str, Any]:
    """The GPU engine without an ONNX Runtime GPU provider: ``CompiledPredictor``."""
    import copy

    from autolearn.serving.compiled_predictor import CompiledPredictor, compiled_artifact
    from autolearn.training.callbacks.checkpoint import save_torch

    say(f"compiling ({chosen.precision}, CUDA graphs)")
    half = chosen.precision == "fp16"
    compiled = CompiledPredictor(copy.deepcopy(original.model), original.meta, half=half)
    artifact = compiled_artifact(original.model, original.meta, chosen.precision)
    args = (original, compiled, chosen, val, tolerance, say, bench_seconds)
    verdict, report = _compare(*args, _state_bytes(artifact["state_dict"]))
    if verdict.accepted:
        save_torch(store, optimized_key(profile.id, "model.pt"), artifact)
    providers = [f"torch {torch.__version__} on {torch.cuda.get_device_name(0)}"]
    return {**report, "providers": providers, "meta": artifact["meta"]}


def _compare(
    original: Predictor,
    optimised: BasePredictor,
    chosen: Engine,
    val: Sequence[Any],
    tolerance: float,
    say: Progress,
    bench_seconds: float,
    size_after: int,
) -> tuple[parity.Verdict, dict[str, Any]]:
    """The gate (both models on the validation split) and their speed, as report fields."""
    metric = _metric_of(original)
    say(f"accuracy gate on {len(val)} validation images")
    verdict = parity.Verdict(
        metric,
        parity.evaluate(original, val, metric),
        parity.evaluate(optimised, val, metric),
        tolerance,
    )
    say("timing the original and the optimised model")
    size = original.input_size
    before = bench.measure(bench.runtime_runner(original), size, seconds=bench_seconds)
    after = bench.measure(bench.runtime_runner(optimised), size, seconds=bench_seconds)
    size_before = _state_bytes(original.model.state_dict())
    return verdict, {
        "status": "ready" if verdict.accepted else "refused",
        "message": verdict.message(),
        "gate": verdict.as_dict(),
        "before": _side("pytorch-eager-fp32", verdict.before, before, size_before),
        "after": _side(chosen.name, verdict.after, after, size_after),
        "speedup_bs32": round(after.throughput_bs32 / before.throughput_bs32, 3),
    }


def _metric_of(original: BasePredictor) -> str:
    default = "map_50" if original.is_detection else "accuracy"
    return str(original.meta.get("metric") or default)


def _build(
    original: Predictor,
    profile: Profile,
    calibration: Sequence[Image.Image],
    folder: Path,
    say: Progress,
) -> Path:
    """The optimised ONNX file for ``profile`` in ``folder``."""
    from autolearn.optimize.export import to_onnx

    fp32 = folder / "fp32.onnx"
    say("exporting to ONNX")
    to_onnx(original.model, original.meta, fp32)
    if profile.level == "INT8":
        from autolearn.optimize.quantize import quantize_int8

        out = folder / "int8.onnx"
        say(f"calibrating INT8 on {len(calibration)} training images")
        quantize_int8(fp32, out, _batches(original, calibration))
        return out
    if profile.level == "FP16":
        from autolearn.optimize.fp16 import to_fp16

        out = folder / "fp16.onnx"
        to_fp16(fp32, out)
        return out
    return fp32


def _batches(runtime: BasePredictor, images: Sequence[Image.Image]) -> Iterator[np.ndarray]:
    """Calibration batches prepared exactly as predictions will be."""
    for start in range(0, len(images), CALIBRATION_BATCH):
        chunk = images[start : start + CALIBRATION_BATCH]
        tensors = [runtime.transform(img).as_subclass(torch.Tensor) for img in chunk]
        yield torch.stack(tensors).numpy()


def _side(engine: str, metric: float, speed: bench.Speed, size: int) -> dict[str, Any]:
    return {"engine": engine, "metric": round(metric, 6), "size_bytes": size, **speed.as_dict()}


def _state_bytes(state: dict[str, Any]) -> int:
    """The size of a model's weights in memory (what the file holds, near enough)."""
    return sum(t.numel() * t.element_size() for t in state.values())


def _task_samples(
    task: dict[str, Any], engine: DbEngine | None, classes: list[str]
) -> tuple[list[Any], list[Any]]:
    """(train, val) samples of the task's pinned dataset version and split."""
    from autolearn.datasets.partition import partition
    from autolearn.datasets.service import load_manifest, resolve_version
    from autolearn.db import Task, session_scope
    from autolearn.tasks.spec import TaskSpec
    from autolearn.training.samples import detection_samples, samples

    spec = TaskSpec.model_validate(task["spec"])
    with session_scope(engine) as s:
        row = s.get(Task, task["id"])
        version_id = row.dataset_version_id if row is not None else None
    if version_id is None:
        raise OptimizeError(f"task {task['id']} has no dataset version to evaluate on")
    manifest = load_manifest(resolve_version(version_id, engine))
    data = spec.data
    part = partition(manifest, data.use_fixed_validation, data.validation_percent, data.split_seed)
    make: Any = detection_samples if spec.kind == "detection" else samples
    val = make(manifest, part.val, classes)
    if not val:
        raise OptimizeError("the task's validation split is empty: the gate needs images")
    return make(manifest, part.train, classes), val


def _calibration_images(train: Sequence[Any]) -> list[Image.Image]:
    """Up to ``CALIBRATION_IMAGES`` training images, spread evenly over the split (the
    split is stratified, so every class is represented)."""
    if not train:
        raise OptimizeError("the task's training split is empty: INT8 needs calibration images")
    step = max(1, len(train) // CALIBRATION_IMAGES)
    return [s.load() for s in list(train)[::step][:CALIBRATION_IMAGES]]


def _report_head(
    task: dict[str, Any], profile: Profile, tolerance: float, meta: dict[str, Any]
) -> dict[str, Any]:
    import onnxruntime as ort

    return {
        "task_id": task["id"],
        "profile": profile.id,
        "target": profile.target,
        "level": profile.level,
        "tolerance_points": tolerance,
        "status": "running",
        "message": "optimising",
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "started_at": _now(),
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "threads": torch.get_num_threads(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "torch": torch.__version__,
            "onnxruntime": ort.__version__,
        },
        "model": meta.get("model"),
    }


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def list_optimizations(
    task_id: int, actor: Principal | None = None, engine: DbEngine | None = None
) -> list[dict[str, Any]]:
    """Every optimisation report of a task (one per profile), newest first. A ``running``
    report whose process is gone from this host reads ``interrupted``."""
    from autolearn.storage import open_store
    from autolearn.tasks.results import OPTIMIZED_PREFIX
    from autolearn.tasks.service import get_task

    task = get_task(task_id, engine, actor=actor)
    store = open_store(task["output_uri"])
    keys = [k for k in store.list(OPTIMIZED_PREFIX) if k.endswith("/report.json")]
    reports = [_alive(store.get_json(k)) for k in keys]
    return sorted(reports, key=lambda r: str(r.get("started_at")), reverse=True)


def get_optimization(
    task_id: int, profile: str, actor: Principal | None = None, engine: DbEngine | None = None
) -> dict[str, Any]:
    """One profile's report; ``OptimizeError`` when the task has none for it."""
    for report in list_optimizations(task_id, actor, engine):
        if report.get("profile") == profile:
            return report
    raise OptimizeError(
        f"task {task_id} has no optimisation {profile!r}; "
        f"run `autolearn task optimize {task_id} --target … --level …`"
    )


def _alive(report: dict[str, Any]) -> dict[str, Any]:
    if report.get("status") != "running" or report.get("host") != socket.gethostname():
        return report
    try:
        os.kill(int(report.get("pid") or 0), 0)
    except (OSError, ValueError):
        return {**report, "status": "interrupted", "message": "the optimising process ended"}
    return report
