"""From a TaskSpec to a pinned dataset version, a concrete plan and the advice."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from autolearn.accounts.principal import Principal
from autolearn.datasets.advisor import Advice
from autolearn.datasets.partition import Partition, partition
from autolearn.datasets.service import (
    DatasetError,
    VersionInfo,
    ensure_sample,
    load_manifest,
    resolve_version,
)
from autolearn.registry import RegistryError
from autolearn.tasks.errors import TaskError
from autolearn.tasks.spec import DatasetSource, TaskSpec
from autolearn.training.hparams import Plan, resolve_plan


@dataclass
class PlannedTask:
    pinned_spec: TaskSpec
    version: VersionInfo
    plan: Plan
    advice: list[Advice]


def plan_task(
    spec: TaskSpec,
    base: dict[str, Any] | None,
    engine: Engine | None = None,
    actor: Principal | None = None,
) -> PlannedTask:
    """Resolve data and 'auto' values; the spec is stored with its dataset pinned."""
    source = spec.data.source
    try:
        if isinstance(source, DatasetSource):
            version = resolve_version(source.dataset, engine, actor)
        else:
            version = ensure_sample(source.sample, engine=engine)
    except DatasetError as exc:
        raise TaskError(f"data.source: {exc}") from None
    if version.scenario != spec.kind:
        raise TaskError(
            f"data.source: {version.ref} is a {version.scenario} dataset; "
            f"a {spec.basic.scenario} task needs a {spec.kind} dataset"
        )
    manifest = load_manifest(version)
    part = partition(
        manifest, spec.data.use_fixed_validation, spec.data.validation_percent, spec.data.split_seed
    )
    if not part.val:
        raise TaskError(
            f"data.validation_percent: {version.ref} leaves no validation images; "
            "add images (at least 2 per class) or raise the percent"
        )
    classes = list(manifest.classes)
    advice: list[Advice] = _health_advice(version) + _scenario_advice(spec, classes)
    if base:
        new = [c for c in classes if c not in base["classes"]]
        classes = list(base["classes"]) + new
        missing = [c for c in base["classes"] if c not in manifest.classes]
        if missing:
            advice.append(
                Advice(
                    "base_classes_without_data",
                    "warning",
                    f"base classes with no images in {version.ref}: "
                    f"{', '.join(missing)}; they keep the base model's weights",
                )
            )
    train_counts = {c: part.counts("train").get(c, 0) for c in classes}
    _check_checkpoint(spec)
    try:
        plan, more = _resolve(spec, classes, train_counts, part, version, base)
    except RegistryError as exc:
        raise TaskError(f"model.pretrained: {exc}") from None
    pinned = spec.model_copy(deep=True)
    pinned.data.source = DatasetSource(dataset=version.ref)
    return PlannedTask(pinned, version, plan, advice + more)


TASK_LEVEL_CODES = frozenset({"few_images", "small_classes"})  # re-checked on the task's split


def _health_advice(version: VersionInfo) -> list[Advice]:
    """The data-health findings stored at import, shown again before the task runs (the
    per-class count rules are left out: the task re-applies them to its own split)."""
    from autolearn.datasets.health import Finding

    findings = (version.report or {}).get("health") or []
    return [
        Finding.from_dict(f).to_advice() for f in findings if f.get("code") not in TASK_LEVEL_CODES
    ]


def _scenario_advice(spec: TaskSpec, classes: list[str]) -> list[Advice]:
    """Tableware: say so when the dataset shares no class with the preset's list."""
    from autolearn.models.presets import TABLEWARE_CLASSES

    if spec.basic.scenario != "tableware":
        return []
    known = {c.lower() for c in TABLEWARE_CLASSES}
    if any(c.lower() in known for c in classes):
        return []
    return [
        Advice(
            "tableware_classes",
            "info",
            f"none of the dataset's classes ({', '.join(classes)}) is one of the tableware "
            f"classes ({', '.join(TABLEWARE_CLASSES)}); the task learns the dataset's classes",
        )
    ]


def _check_checkpoint(spec: TaskSpec) -> None:
    path = spec.model.checkpoint
    if path and not Path(path).expanduser().is_file():
        raise TaskError(
            f"model.checkpoint: file {path!r} does not exist; give the path of a local "
            "timm/torchvision weights file, or leave it empty for the zoo's ImageNet weights"
        )


def _resolve(
    spec: TaskSpec,
    classes: list[str],
    train_counts: dict[str, int],
    part: Partition,
    version: VersionInfo,
    base: dict[str, Any] | None,
) -> tuple[Plan, list[Advice]]:
    if spec.kind == "detection":
        from autolearn.training.detection_hparams import resolve_detection_plan

        return resolve_detection_plan(
            spec,
            classes=classes,
            train_counts={c: n for c, n in train_counts.items() if n or not base},
            val_counts=part.counts("val"),
            fixed_validation=part.fixed,
            n_train_images=len(part.train),
            base=base,
        )
    return resolve_plan(
        spec,
        classes=classes,
        train_counts={c: n for c, n in train_counts.items() if n or not base},
        val_counts=part.counts("val"),
        fixed_validation=part.fixed,
        median_short_side=_median_short_side(version.report),
        base=base,
    )


def _median_short_side(report: dict[str, Any]) -> float | None:
    """Median of min(width, height) if the import report has image sizes."""
    sizes = report.get("image_size") or report.get("image_sizes") or {}
    for key in ("median_short_side",):
        if key in sizes:
            return float(sizes[key])
    width, height = sizes.get("width", {}), sizes.get("height", {})
    if isinstance(width, dict) and "median" in width and "median" in height:
        return float(min(width["median"], height["median"]))
    return None
