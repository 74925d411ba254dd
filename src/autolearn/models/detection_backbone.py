"""Detection backbones on zoo models: timm ``features_only`` EfficientNet-Lite + FPN or SSD extras.

torchvision's detectors take any ``nn.Module`` with an ``out_channels`` attribute that returns an
``OrderedDict`` of feature maps. Two such parts live here:

* :class:`ZooFPNBackbone` (FCOS, RetinaNet, Faster R-CNN): the stride 8/16/32 stages (C3–C5) into
  torchvision's ``FeaturePyramidNetwork``, plus P6/P7 (``LastLevelP6P7``, from P5) for the one-stage
  detectors or a max-pooled P6 (``LastLevelMaxPool``) for Faster R-CNN's RPN. Stride 4 (C2) is left
  out: at 320 px it would quadruple the head's work for objects smaller than ~16 px.
* :class:`ZooSSDLiteBackbone` (SSDLite): the stride 16/32 stages plus depthwise "extra" blocks that
  keep halving the map, as torchvision's ``ssdlite320_mobilenet_v3_large`` does.

Choices, with the reasons:

* **FPN width** follows EfficientDet's D0/D1/D2 widths (64/88/112 for B0/B1/B2) rounded up to a
  multiple of 32, because torchvision's FCOS head uses ``GroupNorm(32, C)``: lite0 64, lite1 96,
  lite2 128. The head's 3×3 convs cost ∝ width²; measured with FCOS + lite0 at 320 px on 2 CPU
  cores (bench/detection_step.py), width 64 / 128 / 256 (torchvision's, made for ResNet-50) costs
  0.31 / 0.46 / 0.96 s per training step of 4 images and 28 / 44 / 82 ms per image at eval.
* **Frozen BatchNorm** in the body (``freeze_bn=True``): detection trains with a few images per
  batch on a CPU, far too few for batch statistics, so the ImageNet statistics and affine
  parameters stay fixed (Detectron2 / torchvision ResNet detectors do the same). A frozen BN is
  also a plain per-channel affine, which folds into the conv on export.
* **Frozen early stages** (``frozen_levels=2``: stem and the stride-2/4 stages, < 1 % of the
  weights): generic edge features; with nothing trainable before stride 8 autograd skips the
  backward pass through the largest feature maps. Training them too (``frozen_levels=0``) made a
  step 15–30 % slower in the same measurement (FCOS 0.31 → 0.40 s, SSDLite 0.25 → 0.32 s).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import torch
from timm.layers import freeze_batch_norm_2d
from torch import Tensor, nn
from torchvision.ops.feature_pyramid_network import ExtraFPNBlock, FeaturePyramidNetwork

from autolearn.models import zoo

DEFAULT_BACKBONE = "tf_efficientnet_lite0.in1k"
# EfficientDet widths (64/88/112) rounded up to multiples of 32 for GroupNorm(32, C) heads.
FPN_CHANNELS = {
    "tf_efficientnet_lite0.in1k": 64,
    "tf_efficientnet_lite1.in1k": 96,
    "tf_efficientnet_lite2.in1k": 128,
    # 64, not 32: GroupNorm(32, 32) on a 1×1 P7 map (128 px input, one image) has one value
    # per group and raises.
    "test_tiny": 64,
}
FPN_STRIDES = (8, 16, 32)
SSD_STRIDES = (16, 32)
SSD_EXTRA_CHANNELS = (512, 256, 256, 128)  # torchvision's SSDLite extras (width_mult 1.0)
FROZEN_LEVELS = 2
_STEM = ("conv_stem", "bn1")


def default_fpn_channels(name: str) -> int:
    """FPN width for zoo backbone ``name`` (64 where the zoo gives no better guess)."""
    return FPN_CHANNELS.get(zoo.resolve_name(name), 64)


def _stage_names(arch: str) -> list[str]:
    """Module names ending the stride 2/4/8/16/32 levels ("blocks.0" … "blocks.6" for lite0)."""
    import timm

    with torch.device("meta"):
        full = timm.create_model(arch, pretrained=False, features_only=True)
    names: list[str] = _feature_info(full).module_name()
    if not all(n.startswith("blocks.") for n in names):
        raise NotImplementedError(f"{arch}: freezing stages expects EfficientNet 'blocks.N' stages")
    return names


def _freeze(body: nn.Module, names: Sequence[str]) -> None:
    """Make the named submodules untrainable, BatchNorm statistics included."""
    for name in names:
        parent_name, _, attr = name.rpartition(".")
        parent = body.get_submodule(parent_name) if parent_name else body
        module = freeze_batch_norm_2d(parent.get_submodule(attr))
        setattr(parent, attr, module)
        for p in module.parameters():
            p.requires_grad_(False)


def zoo_features(
    name: str,
    strides: Sequence[int],
    *,
    pretrained: bool = True,
    checkpoint: str | Path | None = None,
    freeze_bn: bool = True,
    frozen_levels: int = FROZEN_LEVELS,
) -> nn.Module:
    """The zoo model's timm feature extractor returning maps at ``strides`` (each 2, 4, … 32).

    ``frozen_levels`` (0–5) freezes the stem and that many of the stride 2/4/8/16/32 stages;
    ``freeze_bn`` turns every BatchNorm of the body into a frozen one.
    """
    entry = zoo.get_entry(name)
    valid = {2: 0, 4: 1, 8: 2, 16: 3, 32: 4}
    if not strides or any(s not in valid for s in strides):
        raise ValueError(f"strides must be among {sorted(valid)}, got {list(strides)}")
    if not 0 <= frozen_levels <= 5:
        raise ValueError(
            f"frozen_levels must be 0 (all trainable) to 5 (all frozen), got {frozen_levels}"
        )
    out_indices = [valid[s] for s in strides]
    body = zoo.create_model(
        entry.name,
        0,
        pretrained=pretrained,
        checkpoint=checkpoint,
        features_only=True,
        out_indices=out_indices,
    )
    got = _feature_info(body).reduction()
    if list(got) != list(strides):
        raise ValueError(f"{entry.name} gives strides {got}, expected {list(strides)}")
    if frozen_levels:
        last = int(_stage_names(entry.arch)[frozen_levels - 1].split(".")[1])
        _freeze(body, [*_STEM, *(f"blocks.{i}" for i in range(last + 1))])
    if freeze_bn:
        body = freeze_batch_norm_2d(body)
    return body


def _feature_info(body: nn.Module) -> Any:
    """timm's ``FeatureInfo`` of a features_only model (channels, reductions, module names)."""
    info = getattr(body, "feature_info", None)
    if info is None:
        raise TypeError(f"{type(body).__name__} has no timm feature_info; build it features_only")
    return info


def _channels(body: nn.Module) -> list[int]:
    return list(_feature_info(body).channels())


class ZooFPNBackbone(nn.Module):
    """Zoo feature extractor (C3–C5) → FPN; torchvision's detectors read ``out_channels``.

    Returns ``OrderedDict`` ``"0"``, ``"1"``, ``"2"`` (strides 8, 16, 32) followed by the
    ``extra_blocks``' maps (``"p6"``, ``"p7"`` for ``LastLevelP6P7``, ``"pool"`` for
    ``LastLevelMaxPool``). ``body`` replaces the zoo extractor (it needs timm's ``feature_info``).
    """

    def __init__(
        self,
        name: str = DEFAULT_BACKBONE,
        *,
        pretrained: bool = True,
        checkpoint: str | Path | None = None,
        out_channels: int | None = None,
        extra_blocks: ExtraFPNBlock | None = None,
        strides: Sequence[int] = FPN_STRIDES,
        freeze_bn: bool = True,
        frozen_levels: int = FROZEN_LEVELS,
        norm_layer: Callable[..., nn.Module] | None = None,
        body: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.body = body or zoo_features(
            name,
            strides,
            pretrained=pretrained,
            checkpoint=checkpoint,
            freeze_bn=freeze_bn,
            frozen_levels=frozen_levels,
        )
        self.in_channels_list = _channels(self.body)
        self.out_channels = out_channels or default_fpn_channels(name)
        self.fpn = FeaturePyramidNetwork(
            self.in_channels_list,
            self.out_channels,
            extra_blocks=extra_blocks,
            norm_layer=norm_layer,
        )

    def forward(self, x: Tensor) -> OrderedDict[str, Tensor]:
        feats = self.body(x)
        out: OrderedDict[str, Tensor] = self.fpn(
            OrderedDict((str(i), f) for i, f in enumerate(feats))
        )
        return out


def _extra_block(cin: int, cout: int, norm_layer: Callable[..., nn.Module]) -> nn.Module:
    # torchvision's SSDLite extra block: 1×1 to cout/2, 3×3 depthwise stride 2, 1×1 to cout
    from torchvision.models.detection.ssdlite import _extra_block as make

    return make(cin, cout, norm_layer)


def ssd_norm_layer() -> Callable[..., nn.Module]:
    """torchvision's SSDLite BatchNorm (eps 1e-3, momentum 0.03) for the extras and the head."""
    return partial(nn.BatchNorm2d, eps=0.001, momentum=0.03)


class ZooSSDLiteBackbone(nn.Module):
    """Zoo feature extractor (strides 16, 32) + SSDLite extra blocks; lists ``out_channels``.

    Extra blocks (widths ``extra_channels``) are added while their map is at least ``min_side``
    pixels wide at ``image_size``: a 1×1 map adds one cell of whole-image boxes but makes a
    training batch of one image fail in BatchNorm ("expected more than 1 value per channel").
    At 320 px that gives maps 20, 10, 5, 3, 2 (torchvision's ssdlite320 also has a 1×1 one).
    """

    def __init__(
        self,
        name: str = DEFAULT_BACKBONE,
        *,
        image_size: int = 320,
        pretrained: bool = True,
        checkpoint: str | Path | None = None,
        extra_channels: Sequence[int] = SSD_EXTRA_CHANNELS,
        min_side: int = 2,
        freeze_bn: bool = True,
        frozen_levels: int = FROZEN_LEVELS,
        norm_layer: Callable[..., nn.Module] | None = None,
        body: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.body = body or zoo_features(
            name,
            SSD_STRIDES,
            pretrained=pretrained,
            checkpoint=checkpoint,
            freeze_bn=freeze_bn,
            frozen_levels=frozen_levels,
        )
        norm_layer = norm_layer or ssd_norm_layer()
        channels = _channels(self.body)
        side = math.ceil(image_size / 32)  # TF "same" padding: ceil at every stride
        extra = nn.ModuleList()
        cin = channels[-1]
        for cout in extra_channels:
            side = math.ceil(side / 2)
            if side < min_side:
                break
            extra.append(_extra_block(cin, cout, norm_layer))
            channels.append(cout)
            cin = cout
        for m in extra.modules():  # torchvision's SSDLite init for new layers
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, mean=0.0, std=0.03)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        self.extra = extra
        self.out_channels = channels

    def forward(self, x: Tensor) -> OrderedDict[str, Tensor]:
        maps: list[Tensor] = list(self.body(x))
        y = maps[-1]
        for block in self.extra:
            y = block(y)
            maps.append(y)
        return OrderedDict((str(i), m) for i, m in enumerate(maps))
