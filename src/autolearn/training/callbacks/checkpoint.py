"""Checkpoint every epoch (atomically) and keep the best model.

``checkpoints/last.pt`` holds everything resume needs; ``model/model.pt`` holds the
best validation weights with the metadata needed to use them.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import torch

from autolearn.storage import ObjectStore
from autolearn.tasks.results import LAST_KEY, MODEL_KEY
from autolearn.training.callbacks.base import Callback

if TYPE_CHECKING:
    from autolearn.training.trainer import Trainer

__all__ = ["LAST_KEY", "MODEL_KEY", "Checkpoint", "load_torch", "save_torch"]


def save_torch(store: ObjectStore, key: str, obj: Any) -> str:
    """torch.save into memory, then one atomic put: never a half-written file."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return store.put_bytes(key, buffer.getvalue())


def load_torch(store: ObjectStore, key: str) -> Any:
    return torch.load(io.BytesIO(store.get_bytes(key)), map_location="cpu", weights_only=False)


class Checkpoint(Callback):
    """Writes last.pt after every completed epoch and model.pt when validation improves."""

    def __init__(self, store: ObjectStore, model_meta: dict[str, Any]) -> None:
        self.store = store
        self.model_meta = model_meta
        self.saved_epochs: list[int] = []

    def on_validation_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        if trainer.is_best:
            state = {k: v.detach().cpu() for k, v in trainer.model.state_dict().items()}
            meta = {**self.model_meta, "epoch": trainer.epoch, "metrics": metrics}
            save_torch(self.store, MODEL_KEY, {"state_dict": state, "meta": meta})

    def on_epoch_end(self, trainer: Trainer) -> None:
        if trainer.epoch_interrupted:
            return  # a half epoch is not a resume point
        save_torch(self.store, LAST_KEY, trainer.checkpoint_state())
        self.saved_epochs.append(trainer.epoch)
