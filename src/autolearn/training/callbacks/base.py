"""Callback hooks (no-ops by default) and the recorded reason a run stopped."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autolearn.training.trainer import Trainer


class StopReason(str, Enum):
    """Why training ended; shown by the console and the CLI."""

    COMPLETED = "completed"  # ran every planned epoch
    TARGET_REACHED = "target_reached"  # expected accuracy reached
    TIME_LIMIT = "time_limit"  # max training duration reached
    USER_STOP = "user_stop"  # somebody pressed stop


class Callback:
    """Override the hooks you need; ``state_dict`` is saved in every checkpoint."""

    def on_fit_start(self, trainer: Trainer) -> None: ...

    def on_train_step_end(self, trainer: Trainer, step: int, loss: float) -> None: ...

    def on_validation_end(self, trainer: Trainer, metrics: dict[str, float]) -> None: ...

    def on_epoch_end(self, trainer: Trainer) -> None: ...

    def on_fit_end(self, trainer: Trainer) -> None: ...

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        return None

    @property
    def key(self) -> str:
        """Name of this callback's entry in a checkpoint."""
        return type(self).__name__
