"""最长训练时长: end the run inside the limit, mid-epoch if need be.

Before the limit it stops early enough to leave time for one validation pass and
the final save, so the task's best model is always evaluated and usable.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from autolearn.training.callbacks.base import Callback, StopReason

if TYPE_CHECKING:
    from autolearn.training.trainer import Trainer

SAVE_RESERVE_S = 2.0


class TimeBudget(Callback):
    """Tracks elapsed time across resumes (time lost to a crash is not counted twice)."""

    def __init__(
        self, limit_s: float, started_at: float | None = None, eval_estimate_s: float = 5.0
    ) -> None:
        self.limit_s = limit_s
        self.started_at = time.monotonic() if started_at is None else started_at
        self.previous_s = 0.0  # spent in earlier attempts, up to their last checkpoint
        self.eval_s = eval_estimate_s
        self.step_s = 0.0
        self._last_step_at: float | None = None

    @property
    def elapsed_s(self) -> float:
        return self.previous_s + time.monotonic() - self.started_at

    @property
    def remaining_s(self) -> float:
        return self.limit_s - self.elapsed_s

    def _reserve(self) -> float:
        return self.eval_s + self.step_s + SAVE_RESERVE_S

    def on_fit_start(self, trainer: Trainer) -> None:
        self._last_step_at = time.monotonic()

    def on_train_step_end(self, trainer: Trainer, step: int, loss: float) -> None:
        now = time.monotonic()
        if self._last_step_at is not None:
            took = now - self._last_step_at
            self.step_s = took if self.step_s == 0 else 0.7 * self.step_s + 0.3 * took
        self._last_step_at = now
        if self.remaining_s <= self._reserve():
            trainer.request_stop(StopReason.TIME_LIMIT)

    def on_validation_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        if trainer.last_eval_seconds:
            self.eval_s = trainer.last_eval_seconds
        self._last_step_at = time.monotonic()
        if self.remaining_s <= self._reserve() and trainer.epoch < trainer.epochs:
            trainer.request_stop(StopReason.TIME_LIMIT)

    def state_dict(self) -> dict[str, Any]:
        return {"elapsed_s": self.elapsed_s, "eval_s": self.eval_s}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.previous_s = float(state.get("elapsed_s", 0.0))
        self.eval_s = float(state.get("eval_s", self.eval_s))
