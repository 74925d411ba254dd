"""Detection data: boxes follow every geometric transform; batches are fixed-size."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.transforms import v2

from autolearn.datasets.formats.base import Box
from autolearn.training.detection_data import (
    DetectionDataset,
    DetectionSample,
    collate,
    eval_transform,
    letterbox_scale,
    train_transform,
)


def _scene(w: int = 120, h: int = 80) -> tuple[Image.Image, Box]:
    """A white rectangle on black: the box is exactly where the bright pixels are."""
    pixels = np.zeros((h, w, 3), dtype=np.uint8)
    pixels[20:50, 30:90] = 255
    return Image.fromarray(pixels), Box("plate", 30, 20, 90, 50)


def _bright_box(image: torch.Tensor) -> list[float]:
    """Bounding box of pixels brighter than the background after normalisation."""
    mask = image.mean(0) > 0.5
    ys, xs = torch.nonzero(mask, as_tuple=True)
    return [float(xs.min()), float(ys.min()), float(xs.max()) + 1, float(ys.max()) + 1]


def test_eval_letterbox_keeps_aspect_and_moves_the_box() -> None:
    image, box = _scene()
    ds = DetectionDataset([DetectionSample(lambda: image, (box,), (0,))], eval_transform(64))
    tensor, target = ds[0]
    assert tuple(tensor.shape) == (3, 64, 64)
    scale = 64 / 120
    expected = [30 * scale, 20 * scale, 90 * scale, 50 * scale]
    assert target["boxes"].tolist()[0] == pytest.approx(expected, abs=0.5)
    assert _bright_box(tensor) == pytest.approx(expected, abs=1.5)
    assert target["labels"].tolist() == [0]


@pytest.mark.parametrize("overhead", [False, True])
def test_train_augmentation_keeps_boxes_on_their_pixels(overhead: bool) -> None:
    image, box = _scene()
    transform = train_transform(96, overhead=overhead)
    # geometry only: colour jitter changes brightness, which this check reads boxes from
    transform.transforms = [
        t for t in transform.transforms if not isinstance(t, v2.RandomPhotometricDistort)
    ]
    ds = DetectionDataset([DetectionSample(lambda: image, (box,), (1,))], transform)
    for seed in range(12):
        torch.manual_seed(seed)
        tensor, target = ds[0]
        assert tuple(tensor.shape) == (3, 96, 96)
        if len(target["boxes"]) == 0:  # scaled out of the frame: dropped, not kept wrong
            continue
        got = target["boxes"].tolist()[0]
        bright = _bright_box(tensor)
        assert got == pytest.approx(bright, abs=3.0), seed


def test_overhead_augmentation_turns_the_scene() -> None:
    """Quarter turns make tall boxes out of the wide one (the scene is 60 × 30)."""
    image, box = _scene()
    transform = train_transform(96, overhead=True)
    ds = DetectionDataset([DetectionSample(lambda: image, (box,), (0,))], transform)
    shapes = set()
    for seed in range(24):
        torch.manual_seed(seed)
        boxes = ds[0][1]["boxes"]
        if len(boxes):
            w, h = float(boxes[0, 2] - boxes[0, 0]), float(boxes[0, 3] - boxes[0, 1])
            shapes.add("wide" if w > h else "tall")
    assert shapes == {"wide", "tall"}


def test_cached_images_are_shrunk_once_with_their_boxes() -> None:
    image, box = _scene()
    loads = []

    def load() -> Image.Image:
        loads.append(1)
        return image

    ds = DetectionDataset([DetectionSample(load, (box,), (0,))], eval_transform(64), cache_side=60)
    plain = DetectionDataset([DetectionSample(lambda: image, (box,), (0,))], eval_transform(64))
    first, again = ds[0], ds[0]
    assert len(loads) == 1
    assert ds._cache[0][0].size == (60, 40)
    assert first[1]["boxes"].tolist() == again[1]["boxes"].tolist()
    assert first[1]["boxes"].tolist()[0] == pytest.approx(plain[0][1]["boxes"].tolist()[0], abs=0.6)


def test_letterbox_scale_matches_the_transform() -> None:
    image, box = _scene()
    _, target = DetectionDataset(
        [DetectionSample(lambda: image, (box,), (0,))], eval_transform(64)
    )[0]
    sx, sy = letterbox_scale(*image.size, 64)
    assert target["boxes"].tolist()[0] == pytest.approx([30 * sx, 20 * sy, 90 * sx, 50 * sy])
    for w, h in ((37, 300), (300, 37), (64, 64), (1000, 999)):
        shape = eval_transform(64)(Image.new("RGB", (w, h)))
        assert shape.shape[-2:] == (64, 64)
        sx, sy = letterbox_scale(w, h, 64)
        resized = v2.Resize(63, max_size=64)(Image.new("RGB", (w, h)))
        assert (round(w * sx), round(h * sy)) == resized.size


def test_negative_images_and_collate() -> None:
    image, box = _scene()
    samples = [DetectionSample(lambda: image, (box,), (0,)), DetectionSample(lambda: image, (), ())]
    ds = DetectionDataset(samples, eval_transform(64))
    images, targets = collate([ds[0], ds[1]])
    assert tuple(images.shape) == (2, 3, 64, 64)
    assert targets[1]["boxes"].shape == (0, 4) and targets[1]["labels"].numel() == 0
    assert [int(t["image_id"]) for t in targets] == [0, 1]
