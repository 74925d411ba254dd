"""What a worker does for a task: data from the pinned version, the stored plan, then
the training engine of its kind (classification or detection). Outcome → the task's
final status."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from autolearn.datasets.partition import partition
from autolearn.datasets.service import load_manifest, resolve_version
from autolearn.db import Task
from autolearn.scheduler.reporting import DbReporter
from autolearn.settings import get_settings
from autolearn.storage import open_store
from autolearn.tasks.spec import TaskSpec
from autolearn.tasks.states import Status
from autolearn.training.callbacks import StopReason
from autolearn.training.hparams import Plan
from autolearn.training.samples import detection_samples, samples

log = logging.getLogger("autolearn.worker")


@dataclass
class Outcome:
    status: Status
    stop_reason: str | None
    message: str
    metrics: dict[str, Any] = field(default_factory=dict)


def execute(task: Task, reporter: DbReporter, started_at: float, engine: Engine | None) -> Outcome:
    from autolearn.training.runner import RunInputs, run_classification

    spec = TaskSpec.model_validate(task.spec)
    plan = Plan.model_validate(task.plan)
    if task.dataset_version_id is None:
        raise RuntimeError(f"task {task.id} has no dataset version")
    version = resolve_version(task.dataset_version_id, engine)
    manifest = load_manifest(version)
    part = partition(
        manifest, spec.data.use_fixed_validation, spec.data.validation_percent, spec.data.split_seed
    )
    settings = get_settings()
    log.info(
        "training %s at %d px on %s: %d train / %d val images, %d epochs, batch %d, lr %g",
        plan.model,
        plan.input_size,
        version.ref,
        len(part.train),
        len(part.val),
        plan.epochs,
        plan.batch_size,
        plan.lr,
    )
    detection = spec.kind == "detection"
    to_samples: Any = detection_samples if detection else samples
    if detection:
        from autolearn.training.detection_runner import run_detection as run
    else:
        run = run_classification
    result = run(
        RunInputs(
            plan=plan,
            train=to_samples(manifest, part.train, plan.classes),
            val=to_samples(manifest, part.val, plan.classes),
            store=open_store(task.output_uri),
            sink=reporter,
            started_at=started_at,
            external_stop=reporter.stop_requested,
            seed=spec.data.split_seed,
            num_workers=settings.num_workers,
            progress_interval_s=settings.progress_interval_s,
            task_id=task.id,
        )
    )
    outcome = outcome_of(result, plan.metric)
    if outcome.status is Status.SUCCEED and spec.model.optimization.target != "none":
        outcome.metrics["optimization"] = optimise_after_training(task.id, spec, engine)
    return outcome


def optimise_after_training(task_id: int, spec: TaskSpec, engine: Engine | None) -> dict[str, Any]:
    """The form's model optimisation, run once the best model exists. Its failure or
    refusal does not undo the training: the task still SUCCEEDs with its PyTorch model,
    and the summary (also in ``optimized/<profile>/report.json``) says what happened."""
    from autolearn.optimize.service import optimize_task

    wanted = spec.model.optimization
    profile = f"{wanted.target}-{wanted.level}".lower()
    try:
        report = optimize_task(
            task_id,
            wanted.target,
            wanted.level,
            tolerance=wanted.max_metric_drop,
            engine=engine,
            progress=lambda line: log.info("optimisation: %s", line),
        )
    except Exception as exc:  # reported, never fatal to a trained model
        log.error("optimisation %s failed: %s", profile, exc)
        return {"profile": profile, "status": "failed", "message": str(exc)}
    log.info("optimisation %s: %s", profile, report["message"])
    summary = {k: report.get(k) for k in ("profile", "status", "message", "speedup_bs32")}
    return {**summary, "engine": report["engine"]["name"]}


def outcome_of(result: Any, metric: str = "accuracy") -> Outcome:
    """Map the engine's stop reason and best model onto the platform's statuses."""
    reason: StopReason = result.stop_reason
    if result.best_epoch is None:
        status = Status.STOPPED if reason is StopReason.USER_STOP else Status.FAILED
        why = (
            "stopped before the first epoch finished"
            if status is Status.STOPPED
            else f"ended ({reason.value}) before any epoch was validated; raise max_duration"
        )
        return Outcome(status, reason.value, f"no model: {why}")
    metrics = {**(result.metrics or {}), "best_epoch": result.best_epoch}
    if result.report and "incremental" in result.report:
        keys = (
            "base_model_base_class_accuracy",
            "new_model_base_class_accuracy",
            "base_model_ap_50",
            "new_model_ap_50",
        )
        inc = result.report["incremental"]
        metrics["incremental"] = {k: inc[k] for k in keys if k in inc}
    value = metrics.get(metric, float("nan"))
    message = f"best model from epoch {result.best_epoch}: val {metric} {value:.4f}"
    status = Status.STOPPED if reason is StopReason.USER_STOP else Status.SUCCEED
    log.info("finished (%s): %s", reason.value, message)
    return Outcome(status, reason.value, message, metrics)
