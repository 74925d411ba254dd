"""'auto' values of a detection (or tableware) task: preset by preference, then steps.

Detection differs from classification in what the data counts are (boxes per class,
not images) and in the lr rule: the seed's "fewer than 50 per class → lr ÷ 10" is for
fine-tuning a pretrained classifier; a detector's FPN and head start from scratch, and a
tenth of the lr leaves them untrained, so here it is only mentioned, never applied.
"""

from __future__ import annotations

import math
import os
from typing import Any

from autolearn.datasets.advisor import Advice, advise_data, advise_duration
from autolearn.models.presets import DetectionPreset, detection_preset_for
from autolearn.tasks.spec import AUTO, TaskSpec
from autolearn.training.hparams import Plan, form_fields

CPU_FCOS_LITE0_320_IMG_S = 16.0  # train img/s here on 2 cores incl. data (bench/detection.py)
GPU_FCOS_LITE0_320_IMG_S = 400.0
EVAL_OVERHEAD = 1.2  # validation every epoch (raccoon +15 %, mealtray +20 %, bench/detection.py)
BASE_LR = 1e-3  # AdamW at batch 8; linear in the batch size
BASE_BATCH = 8
MIN_EPOCHS, MAX_EPOCHS = 3, 300


def estimate_detection_images_per_s(relative_cost: float, cuda: bool = False) -> float:
    """Training throughput estimate for the ETA and the duration advice."""
    base = (
        GPU_FCOS_LITE0_320_IMG_S
        if cuda
        else CPU_FCOS_LITE0_320_IMG_S * max(1, os.cpu_count() or 1) / 2
    )
    return base / max(relative_cost, 1e-3)


def resolve_detection_plan(
    spec: TaskSpec,
    *,
    classes: list[str],
    train_counts: dict[str, int],
    val_counts: dict[str, int],
    fixed_validation: bool,
    n_train_images: int,
    base: dict[str, Any] | None = None,
    cuda: bool = False,
) -> tuple[Plan, list[Advice]]:
    """Fill every 'auto' for a detector; counts are boxes per class."""
    from autolearn.models.detection import DETECTORS
    from autolearn.models.zoo import ZOO, resolve_name

    hp = spec.model.hyperparams
    preset = _preset(spec, base)
    backbone = (
        resolve_name(spec.model.pretrained)
        if spec.model.pretrained != AUTO and not base
        else preset.backbone
    )
    DETECTORS.get(preset.arch)
    entry = ZOO.get(backbone)
    batch = (16 if cuda else 4) if hp.batch_size == AUTO else int(hp.batch_size)
    steps_per_epoch = max(1, n_train_images // batch)
    epochs = (
        min(MAX_EPOCHS, max(MIN_EPOCHS, math.ceil(preset.steps / steps_per_epoch)))
        if hp.epochs == AUTO
        else int(hp.epochs)
    )
    lr = BASE_LR * batch / BASE_BATCH if hp.lr == AUTO else float(hp.lr)
    warmup = min(1.0, round(0.1 * epochs, 2)) if hp.warmup == AUTO else float(hp.warmup)
    per_s = estimate_detection_images_per_s(preset.relative_cost, cuda)
    estimated = epochs * n_train_images / per_s * EVAL_OVERHEAD
    advice = advise_data(train_counts, unit="boxes")
    advice += advise_duration(estimated, spec.model.max_duration, epochs, lr)
    plan = Plan(
        **form_fields(spec, base),
        scenario=spec.basic.scenario,
        arch=preset.arch,
        detector_options={k: list(v) for k, v in preset.options},
        overhead=spec.basic.scenario == "tableware",
        model=backbone,
        input_size=preset.input_size,
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
        label_smoothing=0.0,
        estimated_train_s=round(estimated, 1),
    )
    return plan, advice


def _preset(spec: TaskSpec, base: dict[str, Any] | None) -> DetectionPreset:
    """The preference's preset; an incremental task keeps its base's architecture and size."""
    preset = detection_preset_for(spec.model.preference, spec.basic.scenario)
    if not base:
        return preset
    return DetectionPreset(
        base.get("arch") or preset.arch,
        base["model"],
        base["input_size"],
        preset.steps,
        preset.relative_cost * (base["input_size"] / preset.input_size) ** 2,
        tuple((k, tuple(v)) for k, v in (base.get("detector_options") or {}).items()),
    )
