"""Classifiers on zoo backbones and class transfer for incremental training."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from autolearn.models import classification as cls


def _tiny(num_classes: int, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return cls.build_classifier("test_tiny", num_classes, pretrained=False)


def test_build_classifier_and_its_layer() -> None:
    model = _tiny(4, seed=0)
    layer = cls.classifier_layer(model)
    assert isinstance(layer, nn.Linear) and layer.out_features == 4


def test_headless_model_has_no_classifier_layer() -> None:
    with pytest.raises(TypeError, match="no linear classifier"):
        cls.classifier_layer(_tiny(0, seed=0))


def test_transfer_classes_carries_rows_by_name() -> None:
    base = _tiny(2, seed=0)
    base_sd = base.state_dict()
    model = _tiny(3, seed=1)
    fresh_row = model.state_dict()["classifier.weight"][1].clone()
    # New order differs from the base order on purpose: rows must follow the class names.
    report = cls.transfer_classes(model, base_sd, ["cat", "dog"], ["dog", "bird", "cat"])
    assert report == {"carried": ["dog", "cat"], "new": ["bird"]}
    state = model.state_dict()
    for key, value in base_sd.items():
        if not key.startswith("classifier."):
            assert torch.equal(state[key], value), key
    for new_row, base_row in ((0, 1), (2, 0)):
        for param in ("classifier.weight", "classifier.bias"):
            assert torch.equal(state[param][new_row], base_sd[param][base_row]), param
    assert torch.equal(state["classifier.weight"][1], fresh_row)
    assert not torch.equal(state["classifier.weight"][1], base_sd["classifier.weight"][0])


def test_transfer_classes_refuses_a_dropped_base_class() -> None:
    base_sd = _tiny(2, seed=0).state_dict()
    with pytest.raises(ValueError, match="new_classes lacks: dog"):
        cls.transfer_classes(_tiny(3, seed=1), base_sd, ["cat", "dog"], ["cat", "bird", "fish"])


def test_transfer_classes_refuses_a_base_from_another_model() -> None:
    base_sd = _tiny(2, seed=0).state_dict()
    del base_sd["conv_stem.weight"]
    with pytest.raises(ValueError, match=r"missing: conv_stem\.weight"):
        cls.transfer_classes(_tiny(3, seed=1), base_sd, ["cat", "dog"], ["cat", "dog", "bird"])


def test_transfer_classes_checks_counts() -> None:
    base_sd = _tiny(2, seed=0).state_dict()
    with pytest.raises(ValueError, match="3 outputs but new_classes has 4"):
        cls.transfer_classes(_tiny(3, seed=1), base_sd, ["a", "b"], ["a", "b", "c", "d"])
    with pytest.raises(ValueError, match="expected \\(3, "):
        cls.transfer_classes(_tiny(3, seed=1), base_sd, ["a", "b", "c"], ["a", "b", "c"])
    with pytest.raises(ValueError, match="more than once: a"):
        cls.transfer_classes(_tiny(3, seed=1), base_sd, ["a", "b"], ["a", "b", "a"])
