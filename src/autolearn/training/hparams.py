"""Resolve the form's 'auto' values into a concrete, stored training plan.

The plan is computed when the task is created, so the advice and the estimate are
shown before launch; the worker trains exactly what the plan says.
"""

from __future__ import annotations

import math
import os
from typing import Any

from pydantic import BaseModel, Field

from autolearn.datasets.advisor import Advice, advise_data, advise_duration, small_class_lr
from autolearn.models.presets import RELATIVE_COST, input_size_for, preset_for
from autolearn.tasks.spec import AUTO, TaskSpec

CPU_LITE0_224_IMG_S = 25.0  # fine-tune img/s measured here on 2 cores (bench/classification.py)
GPU_LITE0_224_IMG_S = 2500.0  # H200 with a real input pipeline (DESIGN.md §3)
BASE_LR = 1e-3
HEAD_START_LR_DIV = 3  # a head that is already right needs a gentler fine-tune
BASE_BATCH = 32
MIN_STEPS = {"speed": 20, "balanced": 40, "accuracy": 80}


class Plan(BaseModel):
    """Everything the worker needs, with every 'auto' replaced by a value."""

    model: str
    checkpoint: str | None = None
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    classes: list[str]
    train_counts: dict[str, int]
    val_counts: dict[str, int]
    fixed_validation: bool
    epochs: int
    lr: float
    batch_size: int
    warmup_epochs: float
    weight_decay: float = 0.05
    label_smoothing: float = 0.1
    expected_accuracy: float | None
    max_duration_s: int
    estimated_train_s: float
    imagenet_rows: list[int] | None = None
    base_task: int | None = None
    base_model_uri: str | None = None
    base_classes: list[str] = Field(default_factory=list)
    auto: dict[str, bool] = Field(default_factory=dict)
    scenario: str = "classification"
    metric: str = "accuracy"
    arch: str | None = None  # detection architecture (fcos, retinanet, ssdlite, fasterrcnn)
    overhead: bool = False  # scenes seen from above: vertical flips and quarter turns too
    detector_options: dict[str, Any] = Field(default_factory=dict)  # e.g. aspect_ratios

    @property
    def train_size(self) -> int:
        return sum(self.train_counts.values())


def form_fields(spec: TaskSpec, base: dict[str, Any] | None) -> dict[str, Any]:
    """Plan fields taken straight from the form and the base task, the same for every
    scenario: stop rules, metric, checkpoint, incremental base, which values were 'auto'."""
    hp = spec.model.hyperparams
    return {
        "checkpoint": spec.model.checkpoint,
        "expected_accuracy": spec.model.expected_accuracy,
        "metric": spec.metric,
        "max_duration_s": spec.model.max_duration,
        "base_task": base.get("task_id") if base else None,
        "base_model_uri": base.get("model_uri") if base else None,
        "base_classes": list(base.get("classes", [])) if base else [],
        "auto": {k: getattr(hp, k) == AUTO for k in ("epochs", "lr", "batch_size", "warmup")},
    }


def estimate_images_per_s(model: str, input_size: int, cuda: bool = False) -> float:
    """Rough fine-tune throughput for ETA and advice (cost ∝ pixels × model FLOPs)."""
    base = GPU_LITE0_224_IMG_S if cuda else CPU_LITE0_224_IMG_S * max(1, os.cpu_count() or 1) / 2
    cost = RELATIVE_COST.get(model, 1.0) * (input_size / 224) ** 2
    return base / max(cost, 1e-3)


def resolve_plan(
    spec: TaskSpec,
    *,
    classes: list[str],
    train_counts: dict[str, int],
    val_counts: dict[str, int],
    fixed_validation: bool,
    median_short_side: float | None,
    base: dict[str, Any] | None = None,
    cuda: bool = False,
) -> tuple[Plan, list[Advice]]:
    """Fill every 'auto' from the preference and the data; return the plan and advice."""
    from autolearn.models.zoo import ZOO, resolve_name

    hp = spec.model.hyperparams
    preset = preset_for(spec.model.preference)
    if base:
        model_name, input_size = base["model"], base["input_size"]
    else:
        wanted = preset.model if spec.model.pretrained == AUTO else spec.model.pretrained
        model_name = resolve_name(wanted)
        input_size = input_size_for(ZOO.get(model_name).input_size, median_short_side)
    entry = ZOO.get(model_name)
    n_train = max(1, sum(train_counts.values()))
    batch = _auto_batch(n_train, cuda) if hp.batch_size == AUTO else int(hp.batch_size)
    steps_per_epoch = n_train // batch if n_train > batch else 1  # the loader drops the rest
    epochs = (
        max(preset.epochs, math.ceil(MIN_STEPS[spec.model.preference] / steps_per_epoch))
        if hp.epochs == AUTO
        else int(hp.epochs)
    )
    lr = BASE_LR * batch / BASE_BATCH if hp.lr == AUTO else float(hp.lr)
    lr, advice = small_class_lr(train_counts, lr, lr_is_auto=hp.lr == AUTO)
    rows = None if base or spec.model.checkpoint else _imagenet_rows(entry, classes)
    if rows:
        lr, head_advice = _head_start_lr(lr, hp.lr == AUTO)
        advice.append(head_advice)
    warmup = min(1.0, round(0.15 * epochs, 2)) if hp.warmup == AUTO else float(hp.warmup)
    estimated = epochs * n_train / estimate_images_per_s(model_name, input_size, cuda)
    advice = advise_data(train_counts) + advice
    advice += advise_duration(estimated, spec.model.max_duration, epochs, lr)
    plan = Plan(
        **form_fields(spec, base),
        model=model_name,
        imagenet_rows=rows,
        input_size=input_size,
        mean=entry.mean,
        std=entry.std,
        classes=classes,
        train_counts=train_counts,
        val_counts=val_counts,
        fixed_validation=fixed_validation,
        epochs=epochs,
        lr=lr,
        batch_size=batch,
        warmup_epochs=min(warmup, float(epochs)),
        estimated_train_s=round(estimated, 1),
    )
    return plan, advice


def _imagenet_rows(entry: Any, classes: list[str]) -> list[int] | None:
    """ImageNet rows for the classes when the model has an ImageNet head and all match."""
    if entry.num_pretrained_classes != 1000:
        return None
    from autolearn.models.imagenet_names import match_imagenet

    return match_imagenet(classes)


def _head_start_lr(lr: float, lr_is_auto: bool) -> tuple[float, Advice]:
    """A head that is right from the start gets a gentler auto lr (measured on ants/bees:
    1e-3 drops validation 4 points in the first epoch, 3.3e-4 about 1)."""
    new_lr = lr / HEAD_START_LR_DIV if lr_is_auto else lr
    message = (
        "every class name is an ImageNet class: the classifier starts from the pretrained "
        "model's own rows for them and is validated before training"
        + (f"; lr lowered to {new_lr:g} to keep what it knows" if lr_is_auto else "")
    )
    return new_lr, Advice("imagenet_head", "info", message, applied=True)


def _auto_batch(n_train: int, cuda: bool) -> int:
    """32 on a CPU (64 on a GPU), smaller for tiny sets so an epoch has ≥ 4 steps."""
    top = 64 if cuda else BASE_BATCH
    return max(4, min(top, 2 ** int(math.log2(max(4, n_train // 4)))))
