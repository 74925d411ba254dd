"""The seed platform's usage notes, turned into checks that run before launch.

Rules (seed: 大规模预训练模型使用注意事项):
- fewer than 20 images in a class → expect lower accuracy;
- fewer than 50 in a class → lower lr by 10 (applied when lr is 'auto');
- a long run → halve epochs or raise lr × 5.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

FEW_IMAGES = 20
SMALL_CLASS = 50
LONG_RUN_S = 2 * 3600


@dataclass
class Advice:
    """One piece of advice; ``applied`` says whether the platform acted on it."""

    code: str
    level: Literal["info", "warning"]
    message: str
    applied: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def advise_data(train_counts: dict[str, int], unit: str = "images") -> list[Advice]:
    """Warnings about the amount of data per class (``unit``: images, or boxes for detection)."""
    few = {c: n for c, n in train_counts.items() if n < FEW_IMAGES}
    if not few:
        return []
    listed = ", ".join(f"{c} ({n})" for c, n in sorted(few.items(), key=lambda kv: kv[1]))
    return [
        Advice(
            code="few_images",
            level="warning",
            message=(
                f"fewer than {FEW_IMAGES} training {unit} in: {listed}; expect lower accuracy, "
                f"and add {unit} to reach at least {FEW_IMAGES} per class"
            ),
        )
    ]


def small_class_lr(
    train_counts: dict[str, int], lr: float, lr_is_auto: bool
) -> tuple[float, list[Advice]]:
    """Lower lr by 10 for small classes when lr is auto; otherwise only suggest it."""
    smallest = min(train_counts.values()) if train_counts else 0
    if smallest >= SMALL_CLASS:
        return lr, []
    if lr_is_auto:
        msg = (
            f"the smallest class has {smallest} training images (< {SMALL_CLASS}): "
            f"lr lowered from {lr:g} to {lr / 10:g}"
        )
        return lr / 10, [Advice("small_data_lr", "info", msg, applied=True)]
    msg = (
        f"the smallest class has {smallest} training images (< {SMALL_CLASS}): if the model "
        f"disappoints, try lr {lr / 10:g} (your lr {lr:g} is kept)"
    )
    return lr, [Advice("small_data_lr", "info", msg)]


def advise_duration(
    estimated_s: float, max_duration_s: float, epochs: int, lr: float
) -> list[Advice]:
    """A run longer than the time limit (or very long) gets the seed's two remedies."""
    if estimated_s <= max_duration_s and estimated_s <= LONG_RUN_S:
        return []
    why = (
        f"longer than the {_fmt(max_duration_s)} time limit"
        if estimated_s > max_duration_s
        else "a long run"
    )
    msg = (
        f"training is estimated at {_fmt(estimated_s)} ({why}); consider epochs "
        f"{max(1, epochs // 2)} (halved) or lr {lr * 5:g} (× 5)"
    )
    return [Advice("long_run", "warning", msg)]


def _fmt(seconds: float) -> str:
    seconds = round(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"
