"""Training preference → model and input size.

Chosen from the zoo by cost: lite0 is the fastest at inference, lite2 the most
accurate. Relative training cost per image (lite0 = 1) is used for ETA estimates;
it was read off the models' FLOPs at their native resolution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Preference = Literal["speed", "balanced", "accuracy"]


@dataclass(frozen=True)
class Preset:
    """What a preference means for classification."""

    model: str
    epochs: int
    relative_cost: float


CLASSIFICATION_PRESETS: dict[str, Preset] = {
    "speed": Preset(model="tf_efficientnet_lite0.in1k", epochs=3, relative_cost=1.0),
    "balanced": Preset(model="tf_efficientnet_lite1.in1k", epochs=6, relative_cost=1.7),
    "accuracy": Preset(model="tf_efficientnet_lite2.in1k", epochs=10, relative_cost=2.6),
}

RELATIVE_COST = {p.model: p.relative_cost for p in CLASSIFICATION_PRESETS.values()}
MIN_INPUT = 64


def preset_for(preference: str) -> Preset:
    return CLASSIFICATION_PRESETS[preference]


def input_size_for(native: int, median_short_side: float | None) -> int:
    """Native size, unless the images are much smaller: upscaling 8x8 digits to 224 px
    costs 12x the compute of 64 px and teaches nothing more. Multiples of 32 keep the
    EfficientNet feature maps aligned."""
    if not median_short_side or median_short_side >= native:
        return native
    size = 32 * math.ceil(median_short_side / 32)
    return max(MIN_INPUT, min(native, size))


@dataclass(frozen=True)
class DetectionPreset:
    """What a preference means for detection: architecture, backbone, input size, and
    how many optimiser steps 'auto' epochs aim for. Chosen by measurement on raccoon
    (accuracy after a fixed budget vs CPU latency): docs/benchmarks.md, "Detection presets"."""

    arch: str
    backbone: str
    input_size: int
    steps: int
    relative_cost: float  # CPU training cost per image vs FCOS lite0 at 320 px


DETECTION_PRESETS: dict[str, DetectionPreset] = {
    "speed": DetectionPreset("fcos", "tf_efficientnet_lite0.in1k", 320, 600, 1.0),
    "balanced": DetectionPreset("fcos", "tf_efficientnet_lite0.in1k", 384, 1000, 1.45),
    "accuracy": DetectionPreset("fcos", "tf_efficientnet_lite1.in1k", 448, 1400, 3.0),
}

# Tableware (cup/plate seen from above): the default classes offered when labelling and
# in the sample; a user's dataset may add more (its own classes are what the task learns).
TABLEWARE_CLASSES: tuple[str, ...] = ("plate", "bowl", "cup", "saucer", "glass", "tray")
# Cups and saucers are small next to the tray: a bigger input than plain detection.
TABLEWARE_INPUT_SIZE = {"speed": 384, "balanced": 448, "accuracy": 512}


def detection_preset_for(preference: str, scenario: str = "detection") -> DetectionPreset:
    """The preset of a preference; tableware keeps the architecture, raises the size."""
    preset = DETECTION_PRESETS[preference]
    if scenario != "tableware":
        return preset
    size = TABLEWARE_INPUT_SIZE[preference]
    cost = preset.relative_cost * (size / preset.input_size) ** 2
    return DetectionPreset(preset.arch, preset.backbone, size, preset.steps, cost)
