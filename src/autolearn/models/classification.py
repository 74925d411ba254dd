"""Image classifiers on zoo backbones, and class transfer for incremental training.

Incremental training starts from an earlier task's model, keeps its classes and adds new ones:
the backbone is reused whole, and each old class keeps its classifier row by *name*, so a new
class order never silently swaps what the old rows meant.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autolearn.models import zoo

if TYPE_CHECKING:
    import torch
    from torch import nn


def build_classifier(
    model_name: str,
    num_classes: int,
    pretrained: bool = True,
    checkpoint: str | Path | None = None,
    imagenet_rows: Sequence[int] | None = None,
) -> nn.Module:
    """A zoo model with a ``num_classes``-way head; see ``zoo.create_model`` for the weights.

    ``imagenet_rows`` (one ImageNet-1k index per class, see ``imagenet_names``) starts the
    head from the pretrained classifier's rows for those classes. Otherwise a freshly made
    head is re-initialised small (std 0.01, zero bias): timm's Google-style init gives a
    10-class head logits so large that the first loss is ~7 instead of ln(10) ≈ 2.3, and
    the first epoch of fine-tuning is spent undoing it. A head that came from a checkpoint
    with the right shape is kept as loaded.
    """
    if imagenet_rows is not None and pretrained and checkpoint is None:
        return _from_imagenet_rows(model_name, list(imagenet_rows))
    model = zoo.create_model(model_name, num_classes, pretrained=pretrained, checkpoint=checkpoint)
    if checkpoint is None or not _head_loaded(model, checkpoint, num_classes):
        reset_head(model)
    return model


def _from_imagenet_rows(model_name: str, rows: list[int]) -> nn.Module:
    """The pretrained 1000-way model with its head cut down to ``rows``."""
    import torch

    model = zoo.create_model(model_name, 1000, pretrained=True)
    old = classifier_layer(model)
    weight, bias = old.weight.detach()[rows].clone(), old.bias.detach()[rows].clone()
    model.reset_classifier(len(rows))  # type: ignore[operator]
    head = classifier_layer(model)
    with torch.no_grad():
        head.weight.copy_(weight)
        head.bias.copy_(bias)
    return model


def reset_head(model: nn.Module) -> None:
    """Small-normal weights and zero bias for the classifier (uniform initial predictions)."""
    import torch

    layer = classifier_layer(model)
    with torch.no_grad():
        layer.weight.normal_(0.0, 0.01)
        layer.bias.zero_()


def _head_loaded(model: nn.Module, checkpoint: str | Path, num_classes: int) -> bool:
    """Whether the checkpoint carried a classifier of this shape (so it was loaded)."""
    state = zoo.load_state_file(Path(checkpoint))
    prefix = zoo.classifier_prefix(model)
    weight = state.get(f"{prefix}weight") if prefix else None
    shape = (num_classes, classifier_layer(model).in_features)
    return weight is not None and tuple(weight.shape) == shape


def classifier_layer(model: nn.Module) -> nn.Linear:
    """The final linear layer (timm's ``get_classifier()``), e.g. to train it alone or resize it."""
    from torch import nn

    get_classifier = getattr(model, "get_classifier", None)
    layer = get_classifier() if get_classifier is not None else None
    if not isinstance(layer, nn.Linear):
        raise TypeError(
            f"{type(model).__name__} has no linear classifier (got {type(layer).__name__}); "
            "build it with num_classes > 0 and features_only=False"
        )
    return layer


def _check_unique(classes: Sequence[str], what: str) -> None:
    dupes = sorted(c for c, n in Counter(classes).items() if n > 1)
    if dupes:
        raise ValueError(f"{what} lists classes more than once: {', '.join(dupes)}")


def _check_classes(base_classes: Sequence[str], new_classes: Sequence[str]) -> None:
    """Every base class must survive into the new model; names must be unique."""
    _check_unique(base_classes, "base_classes")
    _check_unique(new_classes, "new_classes")
    lost = [c for c in base_classes if c not in set(new_classes)]
    if lost:
        raise ValueError(
            "incremental training keeps every class of the base model, but new_classes lacks: "
            + ", ".join(lost)
        )


def transfer_classes(
    model: nn.Module,
    base_state_dict: Mapping[str, torch.Tensor],
    base_classes: Sequence[str],
    new_classes: Sequence[str],
) -> dict[str, Any]:
    """Initialise ``model`` (``len(new_classes)`` outputs) from a base model with fewer classes.

    Every non-classifier weight is loaded strictly; the classifier row (weight and bias) of each
    base class is copied to that class's row in ``model``; new classes keep their fresh init.
    Returns ``{"carried": [...], "new": [...]}`` in ``new_classes`` order.
    """
    import torch

    _check_classes(base_classes, new_classes)
    layer = classifier_layer(model)
    if layer.out_features != len(new_classes):
        raise ValueError(
            f"model has {layer.out_features} outputs but new_classes has {len(new_classes)}"
        )
    prefix = zoo.classifier_prefix(model)
    assert prefix is not None  # classifier_layer found one
    sd = zoo.unwrap_state_dict(base_state_dict, source="base model")
    body = {k: v for k, v in sd.items() if not k.startswith(prefix)}
    zoo.load_checked(model, body, source="base model")  # strict except the classifier
    weight, bias = sd.get(prefix + "weight"), sd.get(prefix + "bias")
    if weight is None or tuple(weight.shape) != (len(base_classes), layer.in_features):
        shape = None if weight is None else tuple(weight.shape)
        raise ValueError(
            f"base classifier weight has shape {shape}, expected "
            f"({len(base_classes)}, {layer.in_features}) for {len(base_classes)} base classes"
        )
    rows = [new_classes.index(c) for c in base_classes]
    with torch.no_grad():
        layer.weight[rows] = weight.to(layer.weight)
        if layer.bias is not None and bias is not None:
            layer.bias[rows] = bias.to(layer.bias)
    base = set(base_classes)
    return {
        "carried": [c for c in new_classes if c in base],
        "new": [c for c in new_classes if c not in base],
    }
