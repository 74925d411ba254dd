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
    how many optimiser steps 'auto' epochs aim for. Chosen by measurement (mAP after the
    same number of epochs vs CPU latency at batch 1): docs/benchmarks.md, "Detection"."""

    arch: str
    backbone: str
    input_size: int
    steps: int
    relative_cost: float  # CPU training cost per image vs FCOS lite0 at 320 px
    options: tuple[tuple[str, tuple[float, ...]], ...] = ()  # detector builder options


LITE0, LITE1, LITE2 = (f"tf_efficientnet_lite{i}.in1k" for i in range(3))

# Raccoon, 10 epochs each (bench/detection.py --runs sweep): SSDLite on lite0 at 320 px
# scored 0.969 mAP@0.5 at 24 ms per image, ahead of FCOS and RetinaNet at 384 px (0.93 /
# 0.95 at 36-42 ms); SSDLite on lite1 at 384 px adds mAP@[.5:.95] (0.54 vs 0.51).
DETECTION_PRESETS: dict[str, DetectionPreset] = {
    "speed": DetectionPreset("ssdlite", LITE0, 320, 600, 0.77),
    "balanced": DetectionPreset("ssdlite", LITE1, 384, 800, 1.5),
    "accuracy": DetectionPreset("ssdlite", LITE2, 448, 1200, 2.2),
}

# Tableware (cup/plate seen from above): the default classes offered when labelling and
# in the sample; a user's dataset may add more (its own classes are what the task learns).
TABLEWARE_CLASSES: tuple[str, ...] = ("plate", "bowl", "cup", "saucer", "glass", "tray")
# Cups and saucers are small next to a tray: an FPN down to stride 8 (SSDLite's smallest
# prior is a fifth of the image, too big for a cup) and a bigger input than plain detection.
# Anchor-free FCOS, measured on the meal-tray photos (bench/detection.py): 0.940 mAP@0.5
# after 11 epochs at 448 px, where RetinaNet with near-square anchors for round objects
# (``aspect_ratios`` 0.8/1/1.25, a builder option stored with the model) was at 0.79 after 8.
TABLEWARE_PRESETS: dict[str, DetectionPreset] = {
    "speed": DetectionPreset("fcos", LITE0, 384, 800, 1.45),
    "balanced": DetectionPreset("fcos", LITE0, 448, 1000, 2.0),
    "accuracy": DetectionPreset("fcos", LITE1, 512, 1400, 3.7),
}


def detection_preset_for(preference: str, scenario: str = "detection") -> DetectionPreset:
    """The preset of a preference for plain detection or the tableware scenario."""
    return (TABLEWARE_PRESETS if scenario == "tableware" else DETECTION_PRESETS)[preference]
