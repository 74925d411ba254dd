"""Incremental detection: start a detector for classes ``base + new`` from a trained one.

Everything whose shape does not depend on the class count (backbone, FPN, box
regression, centre-ness, RPN) is copied as is. In the class layers
(:func:`~autolearn.models.detection.class_layers`) the output channels of every class
the base model knew, and of the background where the architecture has one, are copied
by class *name*; the new classes keep their fresh initialisation (for FCOS/RetinaNet the
focal-loss prior bias, so they start silent instead of firing everywhere).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from autolearn.models.detection import class_channels, class_layers, label_offset


def transfer_detection_classes(
    model: nn.Module,
    base_model: nn.Module,
    base_state: Mapping[str, torch.Tensor],
    base_classes: list[str],
    classes: list[str],
) -> dict[str, Any]:
    """Load ``base_state`` (a state dict of ``base_model``'s shape) into ``model``.

    ``base_model`` is only read for its channel layout. Returns what was carried, for the
    task's report.
    """
    state = model.state_dict()
    layers = [name for name, _ in class_layers(model)]
    skipped = []
    for key, value in base_state.items():
        if key.rpartition(".")[0] in layers:
            continue
        if key in state and state[key].shape == value.shape:
            state[key] = value
        else:
            skipped.append(key)
    carried = [c for c in classes if c in base_classes]
    pairs: list[tuple[int | None, int | None]] = [
        (classes.index(c), base_classes.index(c)) for c in carried
    ]
    if label_offset(model):
        pairs.append((None, None))  # the background row
    for layer in layers:
        for param in ("weight", "bias"):
            key = f"{layer}.{param}"
            if key not in base_state:
                continue
            merged = state[key].clone()
            for new, old in pairs:
                rows_new = class_channels(model, layer, new)
                rows_old = class_channels(base_model, layer, old)
                merged[rows_new] = base_state[key][rows_old].to(merged.dtype)
            state[key] = merged
    model.load_state_dict(state)
    return {
        "carried_classes": carried,
        "new_classes": [c for c in classes if c not in base_classes],
        "skipped_keys": skipped,
    }
