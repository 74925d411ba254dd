"""Object detectors: torchvision's FCOS, RetinaNet, SSDLite and Faster R-CNN on zoo backbones.

``build_detector(arch, backbone, num_classes, image_size)`` composes a model from parts (DESIGN.md
§4): a zoo backbone with ``out_channels`` (``detection_backbone``), an anchor generator, a head;
each part can be replaced through ``**overrides``, and the remaining overrides go to the torchvision
class (``score_thresh``, ``nms_thresh``, ``detections_per_img``, ``box_score_thresh`` …).

Input: every image is resized to exactly ``image_size`` × ``image_size`` (``fixed_size``), so the
model sees one static shape (batched training, ONNX export, stable latency); boxes come back in the
original image's pixels. Normalisation uses the zoo entry's mean/std (0.5 for EfficientNet-Lite).

Classes: callers always pass ``num_classes`` = the dataset's class count K and think in labels
0..K-1. torchvision differs by model, and the builder hides it:

========== ====================== ==========================================================
arch       torchvision num_classes model labels
========== ====================== ==========================================================
fcos       K                      0..K-1 (sigmoid focal loss, no background class)
retinanet  K                      0..K-1 (sigmoid focal loss, no background class)
ssdlite    K + 1                  1..K (softmax; 0 = background)
fasterrcnn K + 1                  1..K (softmax; 0 = background)
========== ====================== ==========================================================

Use ``to_model_targets`` before a training forward and ``from_model_predictions`` after an eval
forward (or ``to_model_labels`` / ``from_model_labels`` on label tensors). ``class_layers`` names
the layers whose size depends on the class count, and ``class_channels`` says which of their
output channels belong to a class, for incremental training to carry old classes over.

torch and torchvision are imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from autolearn.models import zoo
from autolearn.registry import Registry

if TYPE_CHECKING:
    import torch
    from torch import nn

Arch = Literal["fcos", "retinanet", "ssdlite", "fasterrcnn"]
Builder = Callable[..., "nn.Module"]
DETECTORS: Registry[Builder] = Registry("detector architecture")
# Background-class offset between dataset labels and model labels.
LABEL_OFFSET: dict[str, int] = {"fcos": 0, "retinanet": 0, "ssdlite": 1, "fasterrcnn": 1}
MIN_IMAGE_SIZE = 64


def _check(backbone: str, num_classes: int, image_size: int) -> zoo.ZooEntry:
    entry = zoo.get_entry(backbone)  # raises listing the zoo's names
    if num_classes < 1:
        raise ValueError(
            f"num_classes must be at least 1 (the dataset's classes), got {num_classes}"
        )
    if image_size < MIN_IMAGE_SIZE or image_size % 32:
        raise ValueError(
            f"image_size must be a multiple of 32 and at least {MIN_IMAGE_SIZE} "
            f"(the backbone's stride is 32), got {image_size}"
        )
    return entry


def _transform_kwargs(entry: zoo.ZooEntry, image_size: int) -> dict[str, Any]:
    return {
        "min_size": image_size,
        "max_size": image_size,
        "fixed_size": (image_size, image_size),
        "image_mean": list(entry.mean),
        "image_std": list(entry.std),
    }


_BACKBONE_KEYS = ("checkpoint", "freeze_bn", "frozen_levels", "fpn_channels")


def _backbone_kwargs(overrides: dict[str, Any]) -> tuple[nn.Module | None, dict[str, Any]]:
    """Pop the overrides meant for the backbone (the rest go to the torchvision model)."""
    given: nn.Module | None = overrides.pop("backbone_module", None)
    options = {k: overrides.pop(k) for k in _BACKBONE_KEYS if k in overrides}
    if given is not None and options:
        raise ValueError(
            f"backbone_module replaces the zoo backbone; {', '.join(options)} would be ignored"
        )
    return given, options


def _fpn_backbone(name: str, pretrained: bool, overrides: dict[str, Any], extra: str) -> nn.Module:
    from torchvision.ops.feature_pyramid_network import LastLevelMaxPool, LastLevelP6P7

    from autolearn.models.detection_backbone import ZooFPNBackbone, default_fpn_channels

    given, options = _backbone_kwargs(overrides)
    if given is not None:
        return given
    width = options.pop("fpn_channels", None) or default_fpn_channels(name)
    if extra == "p6p7" and width % 32:
        raise ValueError(
            f"fpn_channels must be a multiple of 32 (GroupNorm(32) heads), got {width}"
        )
    blocks = LastLevelP6P7(width, width) if extra == "p6p7" else LastLevelMaxPool()
    return ZooFPNBackbone(
        name, pretrained=pretrained, out_channels=width, extra_blocks=blocks, **options
    )


def _fcos(
    backbone: str, num_classes: int, image_size: int, pretrained: bool, **overrides: Any
) -> nn.Module:
    """FCOS: anchor-free, one point per location on P3–P7; GroupNorm head with 4 convs."""
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.fcos import FCOS, FCOSHead

    entry = _check(backbone, num_classes, image_size)
    body = _fpn_backbone(entry.name, pretrained, overrides, extra="p6p7")
    # One "anchor" per location, sized like the stride: FCOS reads its scale ranges from these.
    anchors = overrides.pop("anchor_generator", None) or AnchorGenerator(
        ((8,), (16,), (32,), (64,), (128,)), ((1.0,),) * 5
    )
    head = overrides.pop("head", None) or FCOSHead(
        body.out_channels, anchors.num_anchors_per_location()[0], num_classes
    )
    kwargs = {**_transform_kwargs(entry, image_size), **overrides}
    return FCOS(body, num_classes, anchor_generator=anchors, head=head, **kwargs)


def _retinanet(
    backbone: str, num_classes: int, image_size: int, pretrained: bool, **overrides: Any
) -> nn.Module:
    """RetinaNet: 9 anchors (3 scales × 3 ratios) per location on P3–P7; GroupNorm head (v2)."""
    from functools import partial

    from torch import nn
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.retinanet import RetinaNet, RetinaNetHead

    entry = _check(backbone, num_classes, image_size)
    body = _fpn_backbone(entry.name, pretrained, overrides, extra="p6p7")
    sizes = tuple(
        (x, int(x * 2 ** (1 / 3)), int(x * 2 ** (2 / 3))) for x in (32, 64, 128, 256, 512)
    )
    ratios = tuple(overrides.pop("aspect_ratios", None) or (0.5, 1.0, 2.0))
    anchors = overrides.pop("anchor_generator", None) or AnchorGenerator(
        sizes, (ratios,) * len(sizes)
    )
    head = overrides.pop("head", None) or RetinaNetHead(
        body.out_channels,
        anchors.num_anchors_per_location()[0],
        num_classes,
        norm_layer=partial(nn.GroupNorm, 32),
    )
    kwargs = {**_transform_kwargs(entry, image_size), **overrides}
    return RetinaNet(body, num_classes, anchor_generator=anchors, head=head, **kwargs)


def _fasterrcnn(
    backbone: str, num_classes: int, image_size: int, pretrained: bool, **overrides: Any
) -> nn.Module:
    """Faster R-CNN: RPN on P3–P6 (3 ratios per location), RoIAlign 7×7 on P3–P5, 2-FC box head."""
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.faster_rcnn import FasterRCNN
    from torchvision.ops import MultiScaleRoIAlign

    entry = _check(backbone, num_classes, image_size)
    body = _fpn_backbone(entry.name, pretrained, overrides, extra="maxpool")
    anchors = overrides.pop("rpn_anchor_generator", None) or AnchorGenerator(
        ((32,), (64,), (128,), (256,)), ((0.5, 1.0, 2.0),) * 4
    )
    roi_pool = overrides.pop("box_roi_pool", None) or MultiScaleRoIAlign(
        ["0", "1", "2"], output_size=7, sampling_ratio=2
    )
    # Proposal counts sized for ≤ 640 px images (torchvision's defaults are for 800–1333 px).
    defaults = {
        "rpn_pre_nms_top_n_train": 1000,
        "rpn_post_nms_top_n_train": 1000,
        "rpn_pre_nms_top_n_test": 500,
        "rpn_post_nms_top_n_test": 500,
        "box_batch_size_per_image": 256,
    }
    kwargs = {**_transform_kwargs(entry, image_size), **defaults, **overrides}
    return FasterRCNN(
        body, num_classes + 1, rpn_anchor_generator=anchors, box_roi_pool=roi_pool, **kwargs
    )


def _ssdlite(
    backbone: str, num_classes: int, image_size: int, pretrained: bool, **overrides: Any
) -> nn.Module:
    """SSDLite: depthwise-separable head on strides 16, 32 and the extra blocks' maps."""
    from torchvision.models.detection.anchor_utils import DefaultBoxGenerator
    from torchvision.models.detection.ssd import SSD
    from torchvision.models.detection.ssdlite import SSDLiteHead

    from autolearn.models.detection_backbone import ZooSSDLiteBackbone, ssd_norm_layer

    entry = _check(backbone, num_classes, image_size)
    given, options = _backbone_kwargs(overrides)
    if options.pop("fpn_channels", None) is not None:
        raise ValueError("ssdlite has no FPN; fpn_channels does not apply")
    body = given or ZooSSDLiteBackbone(
        entry.name, image_size=image_size, pretrained=pretrained, **options
    )
    n_maps = len(getattr(body, "out_channels", ()))
    anchors = overrides.pop("anchor_generator", None) or DefaultBoxGenerator(
        [[2, 3]] * n_maps, min_ratio=0.2, max_ratio=0.95
    )
    head = overrides.pop("head", None) or SSDLiteHead(
        body.out_channels, anchors.num_anchors_per_location(), num_classes + 1, ssd_norm_layer()
    )
    # torchvision's ssdlite320 settings (many low-score boxes for mAP), but at most COCO's 100
    # per image: mAP reads only the top 100, and more only slows NMS and the metric.
    defaults: dict[str, Any] = {
        "score_thresh": 0.001,
        "nms_thresh": 0.55,
        "detections_per_img": 100,
        "topk_candidates": 300,
    }
    kwargs = {**defaults, **overrides}
    return SSD(
        body,
        anchors,
        (image_size, image_size),
        num_classes + 1,
        image_mean=list(entry.mean),
        image_std=list(entry.std),
        head=head,
        **kwargs,
    )


for _name, _builder in (
    ("fcos", _fcos),
    ("retinanet", _retinanet),
    ("ssdlite", _ssdlite),
    ("fasterrcnn", _fasterrcnn),
):
    DETECTORS.register(_name, _builder)


def build_detector(
    arch: Arch,
    backbone: str,
    num_classes: int,
    image_size: int,
    pretrained: bool = True,
    **overrides: Any,
) -> nn.Module:
    """Build detector ``arch`` on zoo ``backbone`` for ``num_classes`` dataset classes.

    ``pretrained`` loads the backbone's ImageNet weights (heads and FPN start fresh).
    ``aspect_ratios`` (RetinaNet): the anchors' height/width ratios, (0.5, 1, 2) by default;
    round objects seen from above want ratios near 1.
    ``overrides``: parts (``backbone_module``, ``anchor_generator`` / ``rpn_anchor_generator``,
    ``head``, ``box_roi_pool``), backbone options (``fpn_channels``, ``checkpoint``,
    ``freeze_bn``, ``frozen_levels``), and keyword arguments of the torchvision class.
    """
    builder = DETECTORS.get(arch)  # an unknown arch raises, listing the known ones
    return builder(backbone, num_classes, image_size, pretrained, **overrides)


def arch_of(model: nn.Module) -> str:
    """The registry name of a detector built here (by its torchvision class)."""
    from torchvision.models.detection import FCOS, FasterRCNN, RetinaNet
    from torchvision.models.detection.ssd import SSD  # not exported by the package

    for cls, name in ((FCOS, "fcos"), (RetinaNet, "retinanet"), (SSD, "ssdlite")):
        if isinstance(model, cls):
            return name
    if isinstance(model, FasterRCNN):
        return "fasterrcnn"
    raise TypeError(f"{type(model).__name__} is not one of the detectors: {DETECTORS.names()}")


def label_offset(model: nn.Module | str) -> int:
    """1 where the model reserves label 0 for background (SSD, Faster R-CNN), else 0."""
    arch = model if isinstance(model, str) else arch_of(model)
    DETECTORS.get(arch)  # raises on an unknown name
    return LABEL_OFFSET[arch]


def to_model_labels(model: nn.Module | str, labels: torch.Tensor) -> torch.Tensor:
    """Dataset labels 0..K-1 → the model's labels."""
    return labels + label_offset(model)


def from_model_labels(model: nn.Module | str, labels: torch.Tensor) -> torch.Tensor:
    """The model's predicted labels → dataset labels 0..K-1."""
    return labels - label_offset(model)


def to_model_targets(
    model: nn.Module | str, targets: Sequence[Mapping[str, torch.Tensor]]
) -> list[dict[str, torch.Tensor]]:
    """Copies of training targets (``boxes``, ``labels`` 0..K-1, …) with the model's labels."""
    offset = label_offset(model)
    return [{**t, "labels": t["labels"] + offset} for t in targets]


def from_model_predictions(
    model: nn.Module | str, predictions: Sequence[Mapping[str, torch.Tensor]]
) -> list[dict[str, torch.Tensor]]:
    """Copies of eval outputs (``boxes``, ``scores``, ``labels``) with dataset labels 0..K-1."""
    offset = label_offset(model)
    return [{**p, "labels": p["labels"] - offset} for p in predictions]


def class_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The layers whose output size depends on the class count, as (state-dict prefix, layer).

    FCOS/RetinaNet: the classification head's last conv (anchors × K outputs). SSDLite: the
    last 1×1 conv of each map's classification block (anchors × (K+1)). Faster R-CNN: the box
    predictor's ``cls_score`` (K+1) and ``bbox_pred`` (4 × (K+1), class-specific boxes).
    """
    arch = arch_of(model)
    if arch in ("fcos", "retinanet"):
        names = ["head.classification_head.cls_logits"]
    elif arch == "fasterrcnn":
        names = ["roi_heads.box_predictor.cls_score", "roi_heads.box_predictor.bbox_pred"]
    else:
        blocks = model.get_submodule("head.classification_head.module_list")
        names = [
            f"head.classification_head.module_list.{i}.1"
            for i in range(len(list(blocks.children())))
        ]
    return [(n, model.get_submodule(n)) for n in names]


def num_model_classes(model: nn.Module) -> int:
    """Classes in the model's class layers (dataset classes + 1 where there is a background)."""
    arch = arch_of(model)
    if arch == "fasterrcnn":
        return _out_size(model.get_submodule("roi_heads.box_predictor.cls_score"))
    head = model.get_submodule("head.classification_head")
    count: int = getattr(head, "num_columns" if arch == "ssdlite" else "num_classes")
    return int(count)


def class_channels(model: nn.Module, layer: str, label: int | None) -> list[int]:
    """Output channels (rows) of class layer ``layer`` that belong to dataset ``label``.

    ``label=None`` means the background class (SSDLite, Faster R-CNN only). Channel layouts:
    anchor-major ``a × classes + c`` in the convolutional heads, one row per class in
    ``cls_score``, four consecutive rows per class in ``bbox_pred``.
    """
    names = dict(class_layers(model))
    if layer not in names:
        raise ValueError(f"{layer!r} is not a class layer; class layers: {', '.join(names)}")
    classes = num_model_classes(model)
    offset = label_offset(model)
    if label is None:
        if not offset:
            raise ValueError(f"{arch_of(model)} has no background class")
        c = 0
    elif 0 <= label < classes - offset:
        c = label + offset
    else:
        raise ValueError(f"label {label} is outside 0..{classes - offset - 1}")
    size = _out_size(names[layer])
    if layer.endswith("bbox_pred"):
        return [4 * c + i for i in range(4)]
    return [a * classes + c for a in range(size // classes)]


def _out_size(layer: nn.Module) -> int:
    size = getattr(layer, "out_channels", None) or getattr(layer, "out_features", None)
    if not isinstance(size, int):
        raise TypeError(f"{type(layer).__name__} has neither out_channels nor out_features")
    return size
