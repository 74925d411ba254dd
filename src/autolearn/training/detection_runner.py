"""Run one detection plan with the shared Trainer: build the detector (or carry a base
task's one over to new classes), fit, then write the model with its per-class score
thresholds and the evaluation report.

The pieces that differ from classification are the model, the data pipeline and the
metric (``DetectionOps``); the loop, stop rules, checkpoint and resume are the same.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from torch import nn

from autolearn.evaluation.bad_cases import detection_bad_cases
from autolearn.storage import ObjectStore
from autolearn.tasks.results import META_KEY, REPORT_KEY
from autolearn.training.callbacks import (
    MODEL_KEY,
    Callback,
    Checkpoint,
)
from autolearn.training.callbacks.checkpoint import load_torch, save_torch
from autolearn.training.data import auto_num_workers, make_loader
from autolearn.training.detection import DetectionOps
from autolearn.training.detection_data import (
    DetectionDataset,
    DetectionSample,
    collate,
    eval_transform,
    letterbox_scale,
    train_transform,
)
from autolearn.training.hparams import Plan
from autolearn.training.loop import LoopContext, evaluate
from autolearn.training.runner import (
    RunInputs,
    RunResult,
    fit_plan,
    load_model_file,
    model_meta,
    pick_device,
)
from autolearn.training.trainer import FitResult, Trainer

log = logging.getLogger(__name__)
DEFAULT_THRESHOLD = 0.5  # for a class the validation set could not tune (no boxes of it)


class _BestReport(Callback):
    """Keeps the best epoch's full detection report (per class, PR curves, thresholds)
    and its worst images (the bad cases)."""

    def __init__(self, ops: DetectionOps, classes: list[str]) -> None:
        self.ops, self.classes = ops, classes
        self.report: dict[str, Any] | None = None
        self.worst: list[dict[str, Any]] = []

    def on_validation_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        if trainer.is_best:
            self.report = self.ops.metrics.report(self.classes)
            self.worst = self.ops.worst.cases()


def build_plan_detector(plan: Plan, pretrained: bool = True) -> nn.Module:
    """The plan's detector (architecture, backbone, input size, classes)."""
    from autolearn.models.detection import build_detector

    if plan.arch is None:
        raise ValueError("the plan has no detection architecture (plan.arch)")
    return build_detector(
        plan.arch,  # type: ignore[arg-type]
        plan.model,
        len(plan.classes),
        plan.input_size,
        pretrained=pretrained and plan.base_task is None,
        **plan.detector_options,
        **({"checkpoint": plan.checkpoint} if plan.checkpoint and plan.base_task is None else {}),
    )


def _build(plan: Plan) -> tuple[nn.Module, dict[str, Any] | None]:
    model = build_plan_detector(plan)
    if plan.base_task is None or plan.base_model_uri is None:
        return model, None
    from autolearn.models.detection import build_detector
    from autolearn.models.detection_transfer import transfer_detection_classes

    base = load_model_file(plan.base_model_uri)
    base_model = build_detector(
        plan.arch,  # type: ignore[arg-type]
        plan.model,
        len(plan.base_classes),
        plan.input_size,
        pretrained=False,
        **plan.detector_options,
    )
    carried = transfer_detection_classes(
        model, base_model, base["state_dict"], plan.base_classes, plan.classes
    )
    return model, {"base": base, "base_model": base_model, "transfer": carried}


def score_thresholds(report: dict[str, Any]) -> dict[str, float]:
    """Per-class score threshold with the best F1 on validation (IoU 0.5); classes the
    validation set has no box of get the default."""
    out = {}
    for name, best in report["best_f1_thresholds"].items():
        value = (best or {}).get("threshold")
        out[name] = DEFAULT_THRESHOLD if value is None else float(value)
    return out


def run_detection(inputs: RunInputs) -> RunResult:
    """Train the plan's detector to a stop rule; return where the best model is."""
    plan = inputs.plan
    device, amp = pick_device()
    ctx = LoopContext(device=device, amp_dtype=amp, channels_last=True)
    torch.manual_seed(inputs.seed)  # fresh heads start the same for the same task
    model, incremental = _build(plan)
    model = model.to(device).to(memory_format=torch.channels_last)
    workers = auto_num_workers(inputs.num_workers, device.type == "cuda")
    cache = plan.input_size if workers == 0 else None
    train_tf = train_transform(plan.input_size, plan.overhead)
    train_ds = DetectionDataset(inputs.train, train_tf, cache)
    val_ds = DetectionDataset(inputs.val, eval_transform(plan.input_size), cache)
    pin = device.type == "cuda"
    train_loader = make_loader(
        train_ds, plan.batch_size, True, workers, inputs.seed, pin, collate_fn=collate
    )
    val_loader = make_loader(
        val_ds, max(plan.batch_size, 8), False, workers, inputs.seed, pin, collate_fn=collate
    )
    ops = DetectionOps(len(plan.classes), plan.classes, primary=plan.metric)
    best = _BestReport(ops, plan.classes)
    meta = model_meta(plan, inputs.task_id)
    trainer, result, resumed = fit_plan(
        inputs,
        model,
        ops,
        (train_loader, val_loader),
        ctx,
        [best, Checkpoint(inputs.store, meta)],
    )
    return _finish(inputs, trainer, result, ops, best, ctx, resumed, incremental)


def _finish(
    inputs: RunInputs,
    trainer: Trainer,
    result: FitResult,
    ops: DetectionOps,
    best: _BestReport,
    ctx: LoopContext,
    resumed: int | None,
    incremental: dict[str, Any] | None,
) -> RunResult:
    store, plan = inputs.store, inputs.plan
    if result.best_epoch is None or not store.exists(MODEL_KEY):
        return RunResult(result.stop_reason, None, None, None, None, resumed, result.history)
    saved = load_torch(store, MODEL_KEY)
    detection, worst = best.report, best.worst
    if detection is None:  # the best epoch was before a resume: one pass over validation
        trainer.model.load_state_dict(saved["state_dict"])
        evaluate(trainer.model, trainer.val_loader, ops, ctx)
        detection, worst = ops.metrics.report(plan.classes), ops.worst.cases()
    thresholds = score_thresholds(detection)
    _store_thresholds(store, saved, thresholds)
    report: dict[str, Any] = {
        "metrics": result.best_metrics,
        "best_epoch": result.best_epoch,
        "stop_reason": result.stop_reason.value,
        "score_thresholds": thresholds,
        **detection,
        "history": result.history,
        "bad_cases": _bad_cases(inputs, worst),
    }
    if incremental is not None:
        report["incremental"] = _incremental_report(inputs, incremental, detection, ctx)
    store.put_json(REPORT_KEY, report)
    store.put_json(
        META_KEY,
        {
            **saved["meta"],
            "best_epoch": result.best_epoch,
            "metrics": result.best_metrics,
            "score_thresholds": thresholds,
        },
    )
    return RunResult(
        result.stop_reason,
        result.best_epoch,
        result.best_metrics,
        report,
        store.uri(MODEL_KEY),
        resumed,
        result.history,
    )


def _bad_cases(inputs: RunInputs, worst: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The worst images with their boxes back in the image's own pixels: the evaluation
    letterbox resized each one, so the factor comes from its size (one image open per
    bad case, at most ``LIMIT``)."""
    size = inputs.plan.input_size

    def scale_of(index: int) -> tuple[float, float]:
        width, height = inputs.val[index].load().size
        return letterbox_scale(width, height, size)

    return detection_bad_cases(worst, inputs.plan.classes, lambda i: inputs.val[i].sha256, scale_of)


def _store_thresholds(store: ObjectStore, saved: dict[str, Any], thr: dict[str, float]) -> None:
    """The thresholds travel inside model.pt too, so the file alone can predict."""
    saved["meta"] = {**saved["meta"], "score_thresholds": thr}
    save_torch(store, MODEL_KEY, saved)


def _incremental_report(
    inputs: RunInputs, incremental: dict[str, Any], detection: dict[str, Any], ctx: LoopContext
) -> dict[str, Any]:
    """AP@0.5 of the base classes: the base model vs the new one, on this validation set."""
    plan = inputs.plan
    base_ops = DetectionOps(len(plan.base_classes), plan.base_classes)
    index = {plan.classes.index(c): i for i, c in enumerate(plan.base_classes)}
    subset = [
        DetectionSample(
            s.load,
            tuple(b for b, lab in zip(s.boxes, s.labels, strict=True) if lab in index),
            tuple(index[lab] for lab in s.labels if lab in index),
        )
        for s in inputs.val
    ]
    base_model = incremental["base_model"]
    base_model.load_state_dict(incremental["base"]["state_dict"])
    base_model = base_model.to(ctx.device).to(memory_format=torch.channels_last)
    loader = make_loader(
        DetectionDataset(subset, eval_transform(plan.input_size)), 8, False, 0, collate_fn=collate
    )
    evaluate(base_model, loader, base_ops, ctx)
    base_rows = {r["class"]: r for r in base_ops.metrics.report()["per_class"]}
    new_rows = {r["class"]: r for r in detection["per_class"]}
    return {
        "base_task": plan.base_task,
        "base_classes": plan.base_classes,
        "new_classes": incremental["transfer"]["new_classes"],
        "carried_classes": incremental["transfer"]["carried_classes"],
        "base_model_ap_50": {c: base_rows[c]["ap_50"] for c in plan.base_classes},
        "new_model_ap_50": {c: new_rows[c]["ap_50"] for c in plan.base_classes},
    }
