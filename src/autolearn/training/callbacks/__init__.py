"""Stop rules and side effects of training, each a Callback with state_dict."""

from autolearn.training.callbacks.base import Callback, StopReason
from autolearn.training.callbacks.checkpoint import LAST_KEY, MODEL_KEY, Checkpoint
from autolearn.training.callbacks.progress import Progress
from autolearn.training.callbacks.target_metric import TargetMetric
from autolearn.training.callbacks.time_budget import TimeBudget

__all__ = [
    "LAST_KEY",
    "MODEL_KEY",
    "Callback",
    "Checkpoint",
    "Progress",
    "StopReason",
    "TargetMetric",
    "TimeBudget",
]
