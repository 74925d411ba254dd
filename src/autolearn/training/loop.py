"""The plain loop: ``train_one_epoch`` and ``evaluate``, shared by every scenario.

Scenario differences (loss, metric, batch layout) live in a ``ScenarioOps`` object,
not in copies of this loop.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from torch import nn


class ScenarioOps(Protocol):
    """What the loop needs from a scenario. ``eval_loss`` is False where validation gives
    no loss (torchvision detectors in eval mode), so none is reported rather than a 0."""

    eval_loss: bool

    def loss(self, model: nn.Module, batch: Any, device: torch.device) -> tuple[torch.Tensor, int]:
        """Training loss of one batch and the number of images in it."""
        ...

    def eval_step(self, model: nn.Module, batch: Any, device: torch.device) -> tuple[float, int]:
        """Update the metric with one batch; return (summed loss, images)."""
        ...

    def metric_reset(self) -> None: ...

    def metric_compute(self) -> dict[str, float]: ...


@dataclass
class LoopContext:
    """Device and numeric settings shared by training and evaluation."""

    device: torch.device
    amp_dtype: torch.dtype | None = None
    channels_last: bool = True

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)


@dataclass
class EpochStats:
    loss: float = 0.0
    images: int = 0
    steps: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def images_per_s(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else 0.0


def train_one_epoch(
    model: nn.Module,
    batches: Iterable[Any],
    ops: ScenarioOps,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None,
    ctx: LoopContext,
    on_step: Callable[[int, float, int], bool] | None = None,
) -> EpochStats:
    """One pass over ``batches``; ``on_step(step, loss, images)`` returning True stops early."""
    model.train()
    stats, start = EpochStats(), time.perf_counter()
    for step, batch in enumerate(batches):
        with ctx.autocast():
            loss, n = ops.loss(model, batch, ctx.device)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        value = float(loss.detach())
        if value != value:  # NaN: stop now rather than train on garbage
            raise FloatingPointError(f"training loss became NaN at step {step}; lower the lr")
        stats.loss += value * n
        stats.images += n
        stats.steps += 1
        if on_step is not None and on_step(step, value, n):
            stats.interrupted = True
            break
    stats.seconds = time.perf_counter() - start
    stats.loss /= max(stats.images, 1)
    return stats


@torch.inference_mode()
def evaluate(
    model: nn.Module, batches: Iterable[Any], ops: ScenarioOps, ctx: LoopContext
) -> tuple[dict[str, float], EpochStats]:
    """Validation pass: the scenario's metrics plus mean loss."""
    model.eval()
    ops.metric_reset()
    stats, start = EpochStats(), time.perf_counter()
    for batch in batches:
        with ctx.autocast():
            loss_sum, n = ops.eval_step(model, batch, ctx.device)
        stats.loss += loss_sum
        stats.images += n
        stats.steps += 1
    stats.seconds = time.perf_counter() - start
    stats.loss /= max(stats.images, 1)
    metrics = ops.metric_compute()
    if ops.eval_loss:
        metrics["loss"] = stats.loss
    return metrics, stats
