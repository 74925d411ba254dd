"""Detectors on zoo backbones: every arch trains and predicts, class layers are where we say."""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
from torch import nn

from autolearn.models import detection as det
from autolearn.models import zoo
from autolearn.models.detection_backbone import ZooFPNBackbone, ZooSSDLiteBackbone
from autolearn.registry import RegistryError

ARCHS = ["fcos", "retinanet", "ssdlite", "fasterrcnn"]
K = 3  # dataset classes
SIZE = 128
# Keep every candidate box, so an untrained model's eval forward still returns detections.
KEEP_ALL = {
    "fcos": {"score_thresh": 0.0},
    "retinanet": {"score_thresh": 0.0},
    "ssdlite": {"score_thresh": 0.0},
    "fasterrcnn": {"box_score_thresh": 0.0},
}


def tiny(arch: str, **overrides: object) -> nn.Module:
    torch.manual_seed(0)
    return det.build_detector(arch, "test_tiny", K, SIZE, pretrained=False, **overrides)


def images_and_targets() -> tuple[list[torch.Tensor], list[dict[str, torch.Tensor]]]:
    """Two images of different sizes (the transform resizes both to SIZE) with labels 0..K-1."""
    gen = torch.Generator().manual_seed(0)
    images = [torch.rand(3, 128, 128, generator=gen), torch.rand(3, 96, 160, generator=gen)]
    targets = [
        {
            "boxes": torch.tensor([[10.0, 12, 70, 80], [40, 30, 120, 110]]),
            "labels": torch.tensor([0, 2]),
        },
        {"boxes": torch.tensor([[20.0, 10, 150, 90]]), "labels": torch.tensor([1])},
    ]
    return images, targets


def train_step(model: nn.Module, images: list[torch.Tensor], targets: list[dict]) -> dict:
    model.train()
    losses = model(images, det.to_model_targets(model, targets))
    total = sum(losses.values())
    total.backward()
    return losses


@pytest.mark.parametrize("arch", ARCHS)
def test_train_forward_gives_finite_losses_and_gradients(arch: str) -> None:
    model = tiny(arch)
    losses = train_step(model, *images_and_targets())
    assert losses and all(torch.isfinite(v) for v in losses.values()), losses
    for name, layer in det.class_layers(model):
        assert layer.weight.grad is not None and layer.weight.grad.abs().sum() > 0, name
    # the backbone trains from stride 8 on; the stem and stride-2/4 stages stay frozen
    body = model.backbone.body
    assert body.get_submodule("blocks.3.0.conv_pw").weight.grad is not None
    assert not any(p.requires_grad for p in body.get_submodule("conv_stem").parameters())


@pytest.mark.parametrize("arch", ARCHS)
def test_eval_forward_returns_boxes_in_original_pixels_and_dataset_labels(arch: str) -> None:
    model = tiny(arch, **KEEP_ALL[arch]).eval()
    images, _ = images_and_targets()
    with torch.no_grad():
        predictions = det.from_model_predictions(model, model(images))
        single = model(images[:1])  # a batch of one works too (1×1 maps in P7 and extras)
    assert len(predictions) == 2 and len(single) == 1
    for image, p in zip(images, predictions, strict=True):
        n = len(p["boxes"])
        assert n > 0
        assert (
            p["boxes"].shape == (n, 4) and p["scores"].shape == (n,) and p["labels"].shape == (n,)
        )
        assert p["labels"].min() >= 0 and p["labels"].max() < K
        h, w = image.shape[1:]
        assert p["boxes"][:, 2].max() <= w + 1e-3 and p["boxes"][:, 3].max() <= h + 1e-3


@pytest.mark.parametrize("arch", ARCHS)
def test_negative_image_without_boxes_trains(arch: str) -> None:
    model = tiny(arch)
    images, targets = images_and_targets()
    targets[1] = {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64)}
    losses = train_step(model, images, targets)
    assert all(torch.isfinite(v) for v in losses.values()), losses


def test_ssdlite_trains_on_a_single_image() -> None:
    """No 1×1 extra map, so BatchNorm in the extras sees more than one value per channel."""
    model = tiny("ssdlite")
    images, targets = images_and_targets()
    losses = train_step(model, images[:1], targets[:1])
    assert all(torch.isfinite(v) for v in losses.values())


def test_transform_is_fixed_size_with_the_zoo_mean_and_std() -> None:
    entry = zoo.get_entry("lite0")
    for arch in ARCHS:
        model = det.build_detector(arch, "lite0", K, 320, pretrained=False)
        t = model.transform
        assert t.fixed_size == (320, 320), arch
        assert list(t.image_mean) == list(entry.mean) == [0.5] * 3
        assert list(t.image_std) == list(entry.std) == [0.5] * 3
        images, _ = t([torch.rand(3, 200, 300)])
        assert images.tensors.shape[-2:] == (320, 320), arch


def test_lite0_fpn_backbone_loads_the_pretrained_weights() -> None:
    reference = zoo.pretrained_state_dict(zoo.get_entry("lite0"))
    model = det.build_detector("fcos", "tf_efficientnet_lite0.in1k", K, SIZE, pretrained=True)
    backbone = model.backbone
    assert isinstance(backbone, ZooFPNBackbone)
    assert backbone.out_channels == 64 == model.head.classification_head.conv[0].in_channels
    state = backbone.body.state_dict()
    for key in ("conv_stem.weight", "blocks.3.0.conv_dw.weight", "blocks.6.0.conv_pwl.weight"):
        assert torch.equal(state[key], reference[key]), key
    assert torch.equal(state["blocks.4.1.bn2.running_var"], reference["blocks.4.1.bn2.running_var"])
    with torch.no_grad():
        maps = backbone(torch.rand(1, 3, SIZE, SIZE))
    assert isinstance(maps, OrderedDict) and list(maps) == ["0", "1", "2", "p6", "p7"]
    assert [m.shape[1] for m in maps.values()] == [64] * 5
    assert [m.shape[-1] for m in maps.values()] == [SIZE // s for s in (8, 16, 32, 64, 128)]
    assert backbone.in_channels_list == [40, 112, 320]


def test_backbone_freezing_choices() -> None:
    frozen = ZooFPNBackbone("test_tiny", pretrained=False)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in frozen.body.modules())
    assert not any(p.requires_grad for p in frozen.body.get_submodule("blocks.1").parameters())
    assert all(p.requires_grad for p in frozen.body.get_submodule("blocks.2").parameters())
    trainable = ZooFPNBackbone("test_tiny", pretrained=False, freeze_bn=False, frozen_levels=0)
    assert all(p.requires_grad for p in trainable.parameters())
    assert any(isinstance(m, nn.BatchNorm2d) for m in trainable.body.modules())


def test_faster_rcnn_uses_a_max_pool_level_and_ssdlite_its_own_extras() -> None:
    frcnn = tiny("fasterrcnn")
    with torch.no_grad():
        maps = frcnn.backbone(torch.rand(1, 3, SIZE, SIZE))
    assert list(maps) == ["0", "1", "2", "pool"]
    ssd = det.build_detector("ssdlite", "lite0", K, 320, pretrained=False)
    assert isinstance(ssd.backbone, ZooSSDLiteBackbone)
    assert ssd.backbone.out_channels == [112, 320, 512, 256, 256]  # maps 20, 10, 5, 3, 2
    assert len(ssd.anchor_generator.aspect_ratios) == 5


def test_class_layers_are_named_per_arch() -> None:
    names = {arch: [n for n, _ in det.class_layers(tiny(arch))] for arch in ARCHS}
    assert names["fcos"] == names["retinanet"] == ["head.classification_head.cls_logits"]
    assert names["fasterrcnn"] == [
        "roi_heads.box_predictor.cls_score",
        "roi_heads.box_predictor.bbox_pred",
    ]
    assert names["ssdlite"] == [f"head.classification_head.module_list.{i}.1" for i in range(3)]
    sizes = {arch: det.num_model_classes(tiny(arch)) for arch in ARCHS}
    assert sizes == {"fcos": K, "retinanet": K, "ssdlite": K + 1, "fasterrcnn": K + 1}


def _class_outputs(model: nn.Module, arch: str) -> list[torch.Tensor]:
    """Per-class outputs of each class layer, shaped (..., model classes[, 4])."""
    torch.manual_seed(1)
    if arch == "fasterrcnn":
        scores, deltas = model.roi_heads.box_predictor(torch.randn(5, 1024))
        return [scores, deltas.view(5, -1, 4)]
    with torch.no_grad():
        features = list(model.backbone(torch.rand(1, 3, SIZE, SIZE)).values())
    return [model.head.classification_head(features)]


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("label", [0, K - 1, None])
def test_class_channels_select_exactly_that_class(arch: str, label: int | None) -> None:
    model = tiny(arch).eval()
    if label is None and det.label_offset(model) == 0:
        with pytest.raises(ValueError, match="no background"):
            det.class_channels(model, det.class_layers(model)[0][0], None)
        return
    with torch.no_grad():
        for name, layer in det.class_layers(model):
            layer.weight.zero_()
            layer.bias.zero_()
            layer.bias[det.class_channels(model, name, label)] = 5.0
        outputs = _class_outputs(model, arch)
    column = 0 if label is None else label + det.label_offset(model)
    for out in outputs:
        hit = out[:, :, column] if out.dim() == 3 and arch != "fasterrcnn" else out[:, column]
        assert torch.all(hit == 5.0)
        assert out.abs().sum() == hit.abs().sum()  # nothing else lit up


def test_label_conversion_round_trips() -> None:
    labels = torch.tensor([0, 1, 2])
    for arch, offset in (("fcos", 0), ("retinanet", 0), ("ssdlite", 1), ("fasterrcnn", 1)):
        model_labels = det.to_model_labels(arch, labels)
        assert model_labels.tolist() == [x + offset for x in (0, 1, 2)]
        assert torch.equal(det.from_model_labels(arch, model_labels), labels)
    targets = [{"boxes": torch.zeros(3, 4), "labels": labels}]
    converted = det.to_model_targets("fasterrcnn", targets)
    assert converted[0]["labels"].tolist() == [1, 2, 3] and targets[0]["labels"].tolist() == [
        0,
        1,
        2,
    ]


def test_unknown_arch_lists_the_choices() -> None:
    with pytest.raises(RegistryError, match="fasterrcnn, fcos, retinanet, ssdlite"):
        det.build_detector("yolo", "test_tiny", K, SIZE)  # type: ignore[arg-type]
    with pytest.raises(RegistryError, match="known"):
        det.label_offset("yolo")


def test_bad_arguments_say_what_to_fix() -> None:
    with pytest.raises(ValueError, match="multiple of 32"):
        det.build_detector("fcos", "test_tiny", K, 100, pretrained=False)
    with pytest.raises(ValueError, match="num_classes"):
        det.build_detector("fcos", "test_tiny", 0, SIZE, pretrained=False)
    with pytest.raises(RegistryError, match="unknown model"):
        det.build_detector("fcos", "resnet9000", K, SIZE, pretrained=False)
    with pytest.raises(ValueError, match="multiple of 32"):
        det.build_detector("retinanet", "test_tiny", K, SIZE, pretrained=False, fpn_channels=48)
    own = ZooFPNBackbone("test_tiny", pretrained=False, out_channels=32)
    with pytest.raises(ValueError, match="fpn_channels would be ignored"):
        det.build_detector("fcos", "test_tiny", K, SIZE, backbone_module=own, fpn_channels=64)
    with pytest.raises(ValueError, match="no FPN"):
        det.build_detector("ssdlite", "test_tiny", K, SIZE, pretrained=False, fpn_channels=64)


def test_parts_can_be_replaced() -> None:
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

    own = ZooFPNBackbone(
        "test_tiny", pretrained=False, out_channels=32, extra_blocks=LastLevelMaxPool()
    )
    anchors = AnchorGenerator(((16,), (32,), (64,), (128,)), ((0.5, 1.0, 2.0),) * 4)
    model = det.build_detector(
        "fasterrcnn", "test_tiny", K, SIZE, backbone_module=own, rpn_anchor_generator=anchors
    )
    assert model.backbone is own and model.rpn.anchor_generator is anchors
    assert det.arch_of(model) == "fasterrcnn"
