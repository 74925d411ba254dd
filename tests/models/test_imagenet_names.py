"""Class names that are ImageNet classes start the head from the pretrained rows."""

from __future__ import annotations

import torch

from autolearn.models.classification import build_classifier, classifier_layer
from autolearn.models.imagenet_names import match_imagenet
from autolearn.models.zoo import create_model


def test_names_match_by_wordnet_synonyms_and_plurals() -> None:
    assert match_imagenet(["ants", "bees"]) == [310, 309]
    assert match_imagenet(["Coffee_Mug", "espresso"]) == [504, 967]
    assert match_imagenet(["golden-retriever", "tabby"]) == [207, 281]


def test_no_match_unless_every_class_matches_one_class() -> None:
    assert match_imagenet(["ants", "bananas-from-mars"]) is None
    assert match_imagenet(["0", "1"]) is None
    assert match_imagenet(["crane", "ants"]) is None  # 'crane' is a bird and a machine
    assert match_imagenet(["ant", "ants"]) is None  # two classes, one ImageNet class


def test_head_starts_from_the_pretrained_rows() -> None:
    full = classifier_layer(create_model("tf_efficientnet_lite0.in1k", 1000))
    model = build_classifier("tf_efficientnet_lite0.in1k", 2, imagenet_rows=[310, 309])
    head = classifier_layer(model)
    assert head.out_features == 2
    assert torch.equal(head.weight, full.weight[[310, 309]])
    assert torch.equal(head.bias, full.bias[[310, 309]])


def test_fresh_heads_start_small() -> None:
    head = classifier_layer(build_classifier("tf_efficientnet_lite0.in1k", 10))
    assert float(head.weight.detach().std()) < 0.02
    assert float(head.bias.detach().abs().max()) == 0.0
