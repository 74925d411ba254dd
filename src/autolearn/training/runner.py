"""Run one classification plan: build model and data, fit, write model and report.

Storage-agnostic and database-free: the worker hands in samples, an object store
for the task's output and a sink for progress events.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from autolearn.evaluation.bad_cases import classification_bad_cases
from autolearn.evaluation.classification import subset_accuracy
from autolearn.storage import ObjectStore, open_store
from autolearn.tasks.results import META_KEY, REPORT_KEY
from autolearn.training.callbacks import (
    LAST_KEY,
    MODEL_KEY,
    Callback,
    Checkpoint,
    Progress,
    StopReason,
    TargetMetric,
    TimeBudget,
)
from autolearn.training.callbacks.checkpoint import load_torch
from autolearn.training.callbacks.progress import Sink
from autolearn.training.classification import ClassificationOps
from autolearn.training.data import (
    ImageClassificationDataset,
    Sample,
    auto_num_workers,
    cache_side_for,
    eval_transform,
    make_loader,
    train_transform,
)
from autolearn.training.hparams import Plan
from autolearn.training.loop import LoopContext, ScenarioOps, evaluate
from autolearn.training.trainer import FitResult, Trainer, param_groups, warmup_cosine

log = logging.getLogger(__name__)


@dataclass
class RunInputs:
    plan: Plan
    train: list[Any]  # Sample for classification, DetectionSample for detection
    val: list[Any]
    store: ObjectStore
    sink: Sink
    started_at: float = field(default_factory=time.monotonic)
    external_stop: Callable[[], bool] | None = None
    seed: int = 0
    num_workers: int = -1
    progress_interval_s: float = 2.0
    task_id: int | None = None


@dataclass
class RunResult:
    stop_reason: StopReason
    best_epoch: int | None
    metrics: dict[str, float] | None
    report: dict[str, Any] | None
    model_uri: str | None
    resumed_from_epoch: int | None
    history: list[dict[str, Any]]


class _BestOutputs(Callback):
    """Keeps the best epoch's validation outputs so the final report needs no extra pass."""

    def __init__(self, ops: ClassificationOps) -> None:
        self.ops = ops
        self.outputs: tuple[torch.Tensor, torch.Tensor] | None = None

    def on_validation_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        if trainer.is_best:
            self.outputs = self.ops.outputs()


def pick_device() -> tuple[torch.device, torch.dtype | None]:
    """CUDA with bf16 autocast when present, else the CPU in fp32."""
    if torch.cuda.is_available():
        return torch.device("cuda"), torch.bfloat16
    return torch.device("cpu"), None


def load_model_file(uri: str) -> dict[str, Any]:
    """Read a ``model.pt`` written by a task, from any store."""
    parent, _, name = uri.rpartition("/")
    return dict(load_torch(open_store(parent), name))


def _build_model(plan: Plan) -> tuple[nn.Module, dict[str, Any] | None]:
    from autolearn.models.classification import build_classifier, transfer_classes

    model = build_classifier(
        plan.model,
        len(plan.classes),
        pretrained=plan.base_task is None,
        checkpoint=plan.checkpoint if plan.base_task is None else None,
        imagenet_rows=plan.imagenet_rows,
    )
    if plan.base_task is None or plan.base_model_uri is None:
        return model, None
    base = load_model_file(plan.base_model_uri)
    carried = transfer_classes(model, base["state_dict"], plan.base_classes, plan.classes)
    return model, {"base": base, "transfer": carried}


def run_classification(inputs: RunInputs) -> RunResult:
    """Train the plan to a stop rule; returns where the best model is and its report."""
    plan = inputs.plan
    device, amp = pick_device()
    ctx = LoopContext(device=device, amp_dtype=amp, channels_last=True)
    torch.manual_seed(inputs.seed)  # fresh heads start the same for the same task
    model, incremental = _build_model(plan)
    model = model.to(device).to(memory_format=torch.channels_last)
    workers = auto_num_workers(inputs.num_workers, device.type == "cuda")
    cache = (
        cache_side_for(plan.input_size, len(inputs.train) + len(inputs.val))
        if workers == 0
        else None
    )
    train_ds = ImageClassificationDataset(
        inputs.train, train_transform(plan.input_size, plan.mean, plan.std), cache
    )
    val_ds = ImageClassificationDataset(
        inputs.val, eval_transform(plan.input_size, plan.mean, plan.std), cache
    )
    pin = device.type == "cuda"
    train_loader = make_loader(train_ds, plan.batch_size, True, workers, inputs.seed, pin)
    val_loader = make_loader(val_ds, max(plan.batch_size, 32), False, workers, inputs.seed, pin)
    ops = ClassificationOps(len(plan.classes), plan.label_smoothing)
    best_outputs = _BestOutputs(ops)
    meta = model_meta(plan, inputs.task_id)
    trainer, result, resumed = fit_plan(
        inputs,
        model,
        ops,
        (train_loader, val_loader),
        ctx,
        [best_outputs, Checkpoint(inputs.store, meta)],
        validate_first=plan.imagenet_rows is not None,
    )
    return _finish(inputs, trainer, result, ops, best_outputs, ctx, resumed, incremental, meta)


def fit_plan(
    inputs: RunInputs,
    model: nn.Module,
    ops: ScenarioOps,
    loaders: tuple[DataLoader[Any], DataLoader[Any]],
    ctx: LoopContext,
    keepers: list[Callback],
    validate_first: bool = False,
) -> tuple[Trainer, FitResult, int | None]:
    """The part every scenario shares: AdamW + warm-up/cosine, the stop rules (target on the
    plan's metric, time budget), ``keepers`` (best outputs, checkpoint), progress; resume
    from the last checkpoint, then fit."""
    plan = inputs.plan
    train_loader, val_loader = loaders
    optimizer = torch.optim.AdamW(param_groups(model, plan.weight_decay), lr=plan.lr)
    steps = len(train_loader)
    scheduler = warmup_cosine(optimizer, round(plan.warmup_epochs * steps), plan.epochs * steps)
    callbacks: list[Callback] = []
    if plan.expected_accuracy is not None:
        callbacks.append(TargetMetric(plan.metric, plan.expected_accuracy))
    callbacks.append(TimeBudget(plan.max_duration_s, started_at=inputs.started_at))
    callbacks += keepers
    callbacks.append(Progress(inputs.sink, inputs.progress_interval_s))
    trainer = Trainer(
        model,
        ops,
        optimizer,
        scheduler,
        train_loader,
        val_loader,
        ctx,
        plan.epochs,
        callbacks,
        monitor=plan.metric,
        seed=inputs.seed,
        external_stop=inputs.external_stop,
        validate_first=validate_first,
    )
    resumed = resume_if_checkpointed(trainer, inputs)
    return trainer, trainer.fit(), resumed


def model_meta(plan: Plan, task_id: int | None) -> dict[str, Any]:
    """What a user of model.pt needs besides the weights."""
    return {
        "task_id": task_id,
        "scenario": plan.scenario,
        "metric": plan.metric,
        "arch": plan.arch,
        "detector_options": plan.detector_options,
        "model": plan.model,
        "classes": plan.classes,
        "input_size": plan.input_size,
        "mean": list(plan.mean),
        "std": list(plan.std),
    }


def resume_if_checkpointed(trainer: Trainer, inputs: RunInputs) -> int | None:
    """Continue from the task's last checkpoint when there is one (a resumed task)."""
    if not inputs.store.exists(LAST_KEY):
        return None
    state = load_torch(inputs.store, LAST_KEY)
    trainer.load_checkpoint_state(state)
    log.info("resumed from the checkpoint of epoch %d", trainer.epoch)
    inputs.sink(
        {
            "kind": "resume",
            "epoch": trainer.epoch,
            "step": trainer.global_step,
            "data": {"from_epoch": trainer.epoch},
        }
    )
    return trainer.epoch


def _finish(
    inputs: RunInputs,
    trainer: Trainer,
    result: FitResult,
    ops: ClassificationOps,
    best_outputs: _BestOutputs,
    ctx: LoopContext,
    resumed: int | None,
    incremental: dict[str, Any] | None,
    meta: dict[str, Any],
) -> RunResult:
    store, plan = inputs.store, inputs.plan
    if result.best_epoch is None or not store.exists(MODEL_KEY):
        return RunResult(result.stop_reason, None, None, None, None, resumed, result.history)
    outputs = best_outputs.outputs
    if outputs is None:  # best epoch was before a resume: one pass over validation
        best = load_torch(store, MODEL_KEY)
        trainer.model.load_state_dict(best["state_dict"])
        evaluate(trainer.model, trainer.val_loader, ops, ctx)
        outputs = ops.outputs()
    logits, targets = outputs
    ops.metrics.reset()
    ops.metrics.update(logits, targets)
    report = {
        "metrics": result.best_metrics,
        "best_epoch": result.best_epoch,
        "stop_reason": result.stop_reason.value,
        **ops.metrics.report(plan.classes),
        "history": result.history,
        "bad_cases": classification_bad_cases(
            logits, targets, plan.classes, [s.sha256 for s in inputs.val]
        ),
    }
    if incremental is not None:
        report["incremental"] = _incremental_report(inputs, incremental, logits, targets, ctx)
    store.put_json(REPORT_KEY, report)
    store.put_json(
        META_KEY, {**meta, "best_epoch": result.best_epoch, "metrics": result.best_metrics}
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


def _incremental_report(
    inputs: RunInputs,
    incremental: dict[str, Any],
    logits: torch.Tensor,
    targets: torch.Tensor,
    ctx: LoopContext,
) -> dict[str, Any]:
    """Base-class accuracy of the base model vs the new one, on this validation set."""
    from autolearn.models.classification import build_classifier

    plan = inputs.plan
    base_ids = [plan.classes.index(c) for c in plan.base_classes]
    base_model = build_classifier(plan.model, len(plan.base_classes), pretrained=False)
    base_model.load_state_dict(incremental["base"]["state_dict"])
    base_model = base_model.to(ctx.device).to(memory_format=torch.channels_last)
    keep = [i for i, s in enumerate(inputs.val) if s.target in base_ids]
    remap = {cid: plan.base_classes.index(plan.classes[cid]) for cid in base_ids}
    subset = [Sample(inputs.val[i].load, remap[inputs.val[i].target]) for i in keep]
    base_acc = None
    if subset:
        ds = ImageClassificationDataset(
            subset, eval_transform(plan.input_size, plan.mean, plan.std)
        )
        loader = make_loader(ds, 32, False, 0)
        base_ops = ClassificationOps(len(plan.base_classes), keep_outputs=False)
        metrics, _ = evaluate(base_model, loader, base_ops, ctx)
        base_acc = metrics["accuracy"]
    return {
        "base_task": plan.base_task,
        "base_classes": plan.base_classes,
        "new_classes": [c for c in plan.classes if c not in plan.base_classes],
        "carried_rows": incremental["transfer"],
        "base_model_base_class_accuracy": base_acc,
        "new_model_base_class_accuracy": subset_accuracy(logits, targets, base_ids),
        "base_class_val_images": len(subset),
    }
