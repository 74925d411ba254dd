"""TaskSpec: the training-task form as one pydantic model.

The same schema is the YAML file, the CLI flags, the REST body and what the worker
reads, so the form can never drift from the engine. Every field has a range and a
description; ``extra="forbid"`` turns a typo into an error that names the field.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

AUTO: Literal["auto"] = "auto"
Auto = Literal["auto"]
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 _.\-]*$"
MAX_DURATION_S = 7 * 24 * 3600
# The first metric of each kind is what 'auto' means.
SCENARIO_METRICS: dict[str, tuple[str, ...]] = {
    "classification": ("accuracy", "f1"),
    "detection": ("map_50", "map", "map_75", "f1"),
}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class BasicInfo(_Section):
    """基本信息: what the task is called and where it runs."""

    name: str = Field(
        default="task",
        min_length=1,
        max_length=64,
        pattern=NAME_PATTERN,
        description="Task name: 1-64 letters, digits, spaces, '_', '.', '-'.",
    )
    description: str = Field(default="", max_length=2000, description="Free text for people.")
    scenario: Literal["classification", "detection", "tableware"] = Field(
        default="classification",
        description=(
            "What the model learns: classification (one label per image), detection "
            "(boxes) or tableware (cup/plate detection from above)."
        ),
    )
    region: str = Field(
        default="local",
        min_length=1,
        max_length=64,
        pattern=r"^[a-z0-9][a-z0-9\-]*$",
        description="Worker pool that runs the task (lowercase letters, digits, '-').",
    )


class DatasetSource(_Section):
    """A data-center dataset, pinned to one immutable version when the task is created."""

    type: Literal["dataset"] = "dataset"
    dataset: str = Field(
        min_length=1,
        max_length=200,
        description="Dataset reference: 'name' (latest), 'name:v2', or 'name@<hash prefix>'.",
    )


class SampleSource(_Section):
    """A built-in sample dataset (示例数据)."""

    type: Literal["sample"] = "sample"
    sample: str = Field(min_length=1, max_length=64, description="Sample name, e.g. 'digits'.")


class Incremental(_Section):
    """是否增量训练: start from an earlier task's model, keep its classes, add new ones."""

    enabled: bool = Field(default=False, description="Start from the base task's best model.")
    base_task: int | None = Field(
        default=None, ge=1, description="ID of the finished task whose model is the start."
    )

    @model_validator(mode="after")
    def _base_needed(self) -> Incremental:
        if self.enabled and self.base_task is None:
            raise ValueError("incremental training is enabled: set base_task to an earlier task ID")
        return self


class DataConfig(_Section):
    """数据配置: where the images come from and how validation is split off."""

    source: Annotated[DatasetSource | SampleSource, Field(discriminator="type")] = Field(
        description="Dataset version or sample data."
    )
    validation_percent: float = Field(
        default=20.0,
        ge=1.0,
        le=50.0,
        description="Percent of each class held out for validation (1-50).",
    )
    use_fixed_validation: bool = Field(
        default=True,
        description="Keep the dataset's own val/ split when it has one; else split by percent.",
    )
    split_seed: int = Field(default=0, ge=0, le=2**31 - 1, description="Seed of the split.")
    incremental: Incremental = Field(
        default_factory=Incremental, description="Incremental training from an earlier task."
    )


class HyperParams(_Section):
    """训练参数: each one 'auto' (chosen from preference and data) or a value."""

    epochs: Auto | Annotated[int, Field(ge=1, le=1000)] = Field(
        default="auto", description="Passes over the training data: 'auto' or 1-1000."
    )
    lr: Auto | Annotated[float, Field(gt=0, le=1)] = Field(
        default=AUTO, description="Peak AdamW learning rate: 'auto' or a value in (0, 1]."
    )
    batch_size: Auto | Annotated[int, Field(ge=1, le=1024)] = Field(
        default=AUTO, description="Images per step: 'auto' or 1-1024."
    )
    warmup: Auto | Annotated[float, Field(ge=0, le=100)] = Field(
        default=AUTO, description="Warm-up length in epochs (fractions allowed): 'auto' or 0-100."
    )


class Optimization(_Section):
    """模型优化: after training, an optimised model for the target's inference latency,
    kept only if the accuracy gate accepts it (``optimize/``)."""

    target: Literal["none", "cpu", "gpu-t4", "gpu-v100", "gpu-a10"] = Field(
        default="none", description="Hardware to optimise inference for, or 'none'."
    )
    level: Literal["NO_LOSS", "FP16", "INT8"] = Field(
        default="NO_LOSS", description="NO_LOSS (fp32 graph), FP16 (GPU) or INT8."
    )
    max_metric_drop: float = Field(
        default=1.0,
        ge=0,
        le=100,
        description="Accuracy gate: refuse the optimised model if the validation metric "
        "drops by more than this many percentage points.",
    )

    @model_validator(mode="after")
    def _level_fits_target(self) -> Optimization:
        if self.target == "cpu" and self.level == "FP16":
            raise ValueError(
                "level FP16 is for GPU targets (x86 CPUs have no fast fp16 kernels); "
                "for target cpu choose NO_LOSS or INT8"
            )
        return self


class ModelConfig(_Section):
    """模型配置: pretrained model, preference, stop rules and hyper-parameters."""

    pretrained: str = Field(
        default=AUTO,
        min_length=1,
        max_length=100,
        description="Zoo model name (see `autolearn models`) or 'auto' to pick by preference.",
    )
    checkpoint: str | None = Field(
        default=None,
        max_length=1000,
        description="Optional local weights file (timm/torchvision state dict) for the model.",
    )
    preference: Literal["speed", "balanced", "accuracy"] = Field(
        default="balanced",
        description="Trade accuracy for inference speed: speed, balanced or accuracy.",
    )
    expected_accuracy: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="Stop as soon as the validation metric reaches this (0-1], or none.",
    )
    metric: str = Field(
        default=AUTO,
        max_length=32,
        description=(
            "Metric that picks the best epoch and that expected_accuracy applies to: 'auto' "
            "(accuracy for classification, map_50 for detection); classification: accuracy, "
            "f1 (macro); detection: map_50, map (COCO 0.5:0.95), map_75, f1 (at IoU 0.5)."
        ),
    )
    max_duration: int = Field(
        default=3600,
        ge=10,
        le=MAX_DURATION_S,
        description="Longest training time in seconds (accepts '90s', '40m', '2h'); default 1 h.",
    )
    hyperparams: HyperParams = Field(
        default_factory=HyperParams, description="epochs, lr, batch_size, warmup."
    )
    optimization: Optimization = Field(
        default_factory=Optimization, description="Inference latency optimisation."
    )

    @field_validator("max_duration", mode="before")
    @classmethod
    def _parse_duration(cls, value: Any) -> Any:
        return parse_duration(value) if isinstance(value, str) else value


class OutputConfig(_Section):
    """训练输出: where checkpoints, metrics and the model are written."""

    path: str | None = Field(
        default=None,
        max_length=1000,
        description="Storage URI (file:///... or s3://bucket/prefix); empty: the platform's store.",
    )

    @field_validator("path")
    @classmethod
    def _uri(cls, value: str | None) -> str | None:
        if value and "://" not in value:
            raise ValueError(
                f"write the output path as a URI such as file:///data/out, not {value!r}"
            )
        return value


class ResourceConfig(_Section):
    """训练资源配置: stored now, priced and placed by the billing stage."""

    spec: str = Field(
        default="cpu-2c8g",
        pattern=r"^[a-z0-9][a-z0-9\-]*$",
        max_length=64,
        description="Resource spec name, e.g. cpu-2c8g or gpu-t4.",
    )
    count: int = Field(default=1, ge=1, le=64, description="Number of nodes of that spec (1-64).")
    charge_type: Literal["POSTPAID_BY_HOUR", "PREPAID"] = Field(
        default="POSTPAID_BY_HOUR", description="Pay-as-you-go or a prepaid resource group."
    )
    resource_group: str | None = Field(
        default=None, max_length=64, description="Prepaid resource group (PREPAID only)."
    )

    @model_validator(mode="after")
    def _group_matches_charge(self) -> ResourceConfig:
        if self.charge_type == "PREPAID" and not self.resource_group:
            raise ValueError("charge_type PREPAID needs resource_group: the group to run in")
        if self.charge_type != "PREPAID" and self.resource_group:
            raise ValueError("resource_group is only for charge_type PREPAID")
        return self


class TaskSpec(_Section):
    """The whole training-task form, section by section as on the seed's page."""

    basic: BasicInfo = Field(default_factory=BasicInfo)
    data: DataConfig
    model: ModelConfig = Field(default_factory=ModelConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    resources: ResourceConfig = Field(default_factory=ResourceConfig)

    @model_validator(mode="after")
    def _metric_fits_scenario(self) -> TaskSpec:
        allowed = SCENARIO_METRICS[kind_of(self.basic.scenario)]
        if self.model.metric != AUTO and self.model.metric not in allowed:
            raise ValueError(
                f"model.metric {self.model.metric!r} is not a metric of a "
                f"{self.basic.scenario} task; use 'auto' or one of {', '.join(allowed)}"
            )
        return self

    @property
    def kind(self) -> str:
        """The engine that trains it: 'classification' or 'detection' (tableware too)."""
        return kind_of(self.basic.scenario)

    @property
    def metric(self) -> str:
        """The monitored metric with 'auto' resolved for the scenario."""
        if self.model.metric != AUTO:
            return self.model.metric
        return SCENARIO_METRICS[self.kind][0]


def kind_of(scenario: str) -> str:
    """Tableware is detection with its own preset; the rest are their own kind."""
    return "detection" if scenario in ("detection", "tableware") else "classification"


_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|m|s)", re.IGNORECASE)
_UNIT_S = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(text: str) -> int:
    """'90' / '90s' / '40m' / '1h30m' / '2d' → seconds; anything else is an error."""
    raw = text.strip().lower().replace(" ", "")
    if raw.isascii() and raw.isdigit():
        return int(raw)
    matches = list(_DURATION.finditer(raw))
    if not matches or "".join(m.group(0) for m in matches) != raw:
        raise ValueError(f"duration {text!r} is not understood; write e.g. 90s, 40m, 1h30m or 3600")
    return round(sum(float(m.group(1)) * _UNIT_S[m.group(2)] for m in matches))


def format_validation_error(error: ValidationError) -> str:
    """One line per field, naming its path and what is allowed (unions merged)."""
    grouped: dict[str, list[str]] = {}
    given: dict[str, Any] = {}
    for item in error.errors():
        loc = ".".join(str(p) for p in item["loc"] if not is_union_tag(p)) or "spec"
        grouped.setdefault(loc, []).append(item["msg"].removeprefix("Value error, "))
        given.setdefault(loc, item.get("input"))
    lines = []
    for loc, msgs in grouped.items():
        value = given[loc]
        shown = "" if isinstance(value, dict) or value is None else f" (got {value!r})"
        lines.append(f"{loc}: {_merge_messages(msgs)}{shown}")
    return "\n".join(lines)


def _merge_messages(msgs: list[str]) -> str:
    """ "Input should be 'auto'" + "Input should be > 0" → "should be 'auto' or > 0"."""
    unique = list(dict.fromkeys(msgs))
    if len(unique) == 1:
        return unique[0]
    parts = [m.removeprefix("Input should be ") for m in unique]
    return "should be " + " or ".join(parts)


def is_union_tag(part: Any) -> bool:
    """Pydantic adds union member names such as 'literal['auto']' or 'int' to locations."""
    return isinstance(part, str) and (
        part.startswith(("literal[", "function-", "constrained-"))
        or part in {"int", "float", "str", "bool"}
    )
