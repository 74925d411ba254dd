"""Progress events (step, epoch, ETA, metrics) sent to a sink as they happen."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from autolearn.training.callbacks.base import Callback

if TYPE_CHECKING:
    from autolearn.training.trainer import Trainer

Sink = Callable[[dict[str, Any]], None]


class Progress(Callback):
    """Throttled step events plus one event per epoch; the worker's sink stores them."""

    def __init__(self, sink: Sink, interval_s: float = 2.0) -> None:
        self.sink = sink
        self.interval_s = interval_s
        self._last = 0.0
        self._fit_started = time.monotonic()
        self._steps_done_at_start = 0

    def on_fit_start(self, trainer: Trainer) -> None:
        self._fit_started = time.monotonic()
        self._steps_done_at_start = trainer.global_step

    def _eta(self, trainer: Trainer) -> float | None:
        done = trainer.global_step - self._steps_done_at_start
        if done <= 0:
            return None
        per_step = (time.monotonic() - self._fit_started) / done
        return per_step * max(0, trainer.total_steps - trainer.global_step)

    def on_train_step_end(self, trainer: Trainer, step: int, loss: float) -> None:
        now = time.monotonic()
        if now - self._last < self.interval_s:
            return
        self._last = now
        self.sink(
            {
                "kind": "step",
                "epoch": trainer.epoch,
                "step": trainer.global_step,
                "total_steps": trainer.total_steps,
                "total_epochs": trainer.epochs,
                "eta_s": self._eta(trainer),
                "data": {"loss": loss, "lr": trainer.current_lr},
            }
        )

    def on_validation_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        stats = trainer.last_train_stats
        self.sink(
            {
                "kind": "epoch",
                "epoch": trainer.epoch,
                "step": trainer.global_step,
                "total_steps": trainer.total_steps,
                "total_epochs": trainer.epochs,
                "eta_s": self._eta(trainer),
                "data": {
                    "train_loss": stats.loss if stats else None,
                    "train_images_per_s": stats.images_per_s if stats else None,
                    "train_s": stats.seconds if stats else None,
                    "eval_s": trainer.last_eval_seconds,
                    "partial_epoch": trainer.epoch_interrupted,
                    "val": metrics,
                    "best": trainer.is_best,
                    "lr": trainer.current_lr,
                },
            }
        )
