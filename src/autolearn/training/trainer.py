"""Trainer: runs the plain loop epoch by epoch and lets callbacks decide the rest.

It knows nothing of tasks, databases or storage; stop rules, checkpoints and
progress are callbacks, so resume restores them through their ``state_dict``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from autolearn.training.callbacks.base import Callback, StopReason
from autolearn.training.loop import EpochStats, LoopContext, ScenarioOps, evaluate, train_one_epoch


def param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """No weight decay on biases and norm weights (1-D tensors), as timm does."""
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for p in model.parameters():
        if p.requires_grad:
            (no_decay if p.ndim <= 1 else decay).append(p)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def warmup_cosine(
    optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up from 1 % to the peak, then cosine decay to 0, stepped per batch."""

    def factor(step: int) -> float:
        if warmup_steps > 0 and step < warmup_steps:
            return 0.01 + 0.99 * step / warmup_steps
        span = max(1, total_steps - warmup_steps)
        progress = min(1.0, (step - warmup_steps) / span)
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


@dataclass
class FitResult:
    stop_reason: StopReason
    epochs_run: int
    best_epoch: int | None
    best_metrics: dict[str, float] | None
    history: list[dict[str, Any]] = field(default_factory=list)


class Trainer:
    """Holds the training state; ``fit`` runs epochs until done or a callback stops it."""

    def __init__(
        self,
        model: nn.Module,
        ops: ScenarioOps,
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler | None,
        train_loader: DataLoader[Any],
        val_loader: DataLoader[Any],
        ctx: LoopContext,
        epochs: int,
        callbacks: list[Callback] | None = None,
        monitor: str = "accuracy",
        seed: int = 0,
        external_stop: Callable[[], bool] | None = None,
        validate_first: bool = False,
    ) -> None:
        self.model, self.ops, self.ctx = model, ops, ctx
        self.optimizer, self.scheduler = optimizer, scheduler
        self.train_loader, self.val_loader = train_loader, val_loader
        self.epochs, self.monitor, self.seed = epochs, monitor, seed
        self.callbacks = callbacks or []
        self.external_stop = external_stop
        self.validate_first = validate_first
        self.epoch = 0  # 1-based number of the current (or last completed) epoch
        self.global_step = 0
        self.total_steps = epochs * len(train_loader)
        self.best_value: float | None = None
        self.best_epoch: int | None = None
        self.best_metrics: dict[str, float] | None = None
        self.is_best = False
        self.stop_reason: StopReason | None = None
        self.epoch_interrupted = False
        self.last_train_stats: EpochStats | None = None
        self.last_eval_seconds = 0.0
        self.history: list[dict[str, Any]] = []

    @property
    def current_lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def request_stop(self, reason: StopReason) -> None:
        """Ask the run to end; the first reason given is the one recorded."""
        if self.stop_reason is None:
            self.stop_reason = reason

    def _call(self, hook: str, *args: Any) -> None:
        for cb in self.callbacks:
            getattr(cb, hook)(self, *args)

    def _on_step(self, step: int, loss: float, images: int) -> bool:
        self.global_step += 1
        if self.external_stop is not None and self.external_stop():
            self.request_stop(StopReason.USER_STOP)
        self._call("on_train_step_end", step, loss)
        return self.stop_reason is not None

    def _reseed_epoch(self) -> None:
        """Shuffle order and augmentation depend only on (seed, epoch): resume replays them."""
        generator = getattr(self.train_loader, "generator", None)
        if generator is not None:
            generator.manual_seed(self.seed * 100_003 + self.epoch)
        torch.manual_seed(self.seed * 7_919 + self.epoch)
        random.seed(self.seed * 7_919 + self.epoch)
        np.random.seed((self.seed * 7_919 + self.epoch) % 2**32)

    def fit(self) -> FitResult:
        self._call("on_fit_start")
        start = self.epoch
        if self.validate_first and self.global_step == 0:
            self._validate(EpochStats())  # "epoch 0": a head that is already right counts
            self._call("on_epoch_end")
        for epoch in range(start + 1, self.epochs + 1):
            if self.stop_reason is not None:
                break
            self.epoch, self.epoch_interrupted, self.is_best = epoch, False, False
            self._reseed_epoch()
            stats = train_one_epoch(
                self.model,
                self.train_loader,
                self.ops,
                self.optimizer,
                self.scheduler,
                self.ctx,
                on_step=self._on_step,
            )
            self.last_train_stats, self.epoch_interrupted = stats, stats.interrupted
            if self.stop_reason is StopReason.USER_STOP or stats.steps == 0:
                break
            self._validate(stats)
            self._call("on_epoch_end")
        result = FitResult(
            stop_reason=self.stop_reason or StopReason.COMPLETED,
            epochs_run=self.epoch - start,
            best_epoch=self.best_epoch,
            best_metrics=self.best_metrics,
            history=self.history,
        )
        self._call("on_fit_end")
        return result

    def _validate(self, stats: EpochStats) -> None:
        metrics, eval_stats = evaluate(self.model, self.val_loader, self.ops, self.ctx)
        self.last_eval_seconds = eval_stats.seconds
        value = metrics[self.monitor]
        self.is_best = self.best_value is None or value > self.best_value
        if self.is_best:
            self.best_value, self.best_epoch, self.best_metrics = value, self.epoch, metrics
        self.history.append(
            {
                "epoch": self.epoch,
                "train_loss": stats.loss,
                "partial": stats.interrupted,
                "train_images_per_s": stats.images_per_s,
                "val": metrics,
            }
        )
        self._call("on_validation_end", metrics)

    def checkpoint_state(self) -> dict[str, Any]:
        """Everything needed to continue after a crash, RNG states included."""
        return {
            "model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler else None,
            "epoch": self.epoch,
            "global_step": self.global_step,
            "best": {
                "value": self.best_value,
                "epoch": self.best_epoch,
                "metrics": self.best_metrics,
            },
            "history": self.history,
            "callbacks": {cb.key: cb.state_dict() for cb in self.callbacks},
            "rng": {
                "torch": torch.get_rng_state(),
                "numpy": np.random.get_state(),
                "python": random.getstate(),
            },
        }

    def load_checkpoint_state(self, state: dict[str, Any]) -> None:
        """Restore a ``checkpoint_state``; training continues with the next epoch."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state.get("scheduler"):
            self.scheduler.load_state_dict(state["scheduler"])
        self.epoch, self.global_step = int(state["epoch"]), int(state["global_step"])
        best = state.get("best") or {}
        self.best_value, self.best_epoch = best.get("value"), best.get("epoch")
        self.best_metrics = best.get("metrics")
        self.history = list(state.get("history", []))
        for cb in self.callbacks:
            cb.load_state_dict(state.get("callbacks", {}).get(cb.key, {}))
        rng = state.get("rng") or {}
        if "torch" in rng:
            torch.set_rng_state(rng["torch"])
            np.random.set_state(rng["numpy"])
            random.setstate(rng["python"])
