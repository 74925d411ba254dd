"""期望准确率: stop after the first validation whose metric reaches the target."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from autolearn.training.callbacks.base import Callback, StopReason

if TYPE_CHECKING:
    from autolearn.training.trainer import Trainer


class TargetMetric(Callback):
    """Like Lightning's EarlyStopping ``stopping_threshold``, without the patience part."""

    def __init__(self, monitor: str, target: float) -> None:
        self.monitor = monitor
        self.target = target
        self.reached_epoch: int | None = None

    def on_validation_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        value = metrics.get(self.monitor)
        if value is not None and value >= self.target:
            self.reached_epoch = trainer.epoch
            trainer.request_stop(StopReason.TARGET_REACHED)

    def state_dict(self) -> dict[str, Any]:
        return {"reached_epoch": self.reached_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.reached_epoch = state.get("reached_epoch")
