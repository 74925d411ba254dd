"""Detection data pipeline: manifest items with boxes → (image tensor, target dict), with
box-aware augmentation from transforms v2 (boxes are ``tv_tensors.BoundingBoxes``, so
every geometric transform moves them with the pixels).

Images are resized to a fixed square ``size`` (letterboxed: the aspect ratio is kept
and the rest padded), which is what the detectors' fixed-size transforms expect and
keeps batches rectangular.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from PIL import Image
from torch.utils.data import Dataset
from torchvision import tv_tensors
from torchvision.transforms import v2

from autolearn.datasets.formats.base import Box

MIN_BOX_SIDE = 1.0  # px after augmentation; smaller remnants are dropped


@dataclass(frozen=True)
class DetectionSample:
    """One image to load and its boxes (class indices in the task's class order)."""

    load: Callable[[], Image.Image]
    boxes: tuple[Box, ...]
    labels: tuple[int, ...]


def letterbox(size: int, fill: int = 114) -> list[Any]:
    """Longest side to ``size``, then pad right/bottom to a square (boxes follow)."""
    return [
        v2.Resize(size - 1, max_size=size, antialias=True),
        _PadToSquare(size, fill),
    ]


class _PadToSquare(v2.Transform):
    """Pad right and bottom to ``size`` × ``size`` (boxes keep their coordinates)."""

    def __init__(self, size: int, fill: int) -> None:
        super().__init__()
        self.size, self.fill = size, fill

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        height, width = v2.functional.get_size(flat_inputs[0])
        return {"padding": [0, 0, max(0, self.size - width), max(0, self.size - height)]}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        return v2.functional.pad(inpt, padding=params["padding"], fill=self.fill)


def train_transform(size: int, mean: Sequence[float], std: Sequence[float]) -> v2.Compose:
    """Photometric jitter, horizontal flip and scale jitter (zoom out/in) with boxes."""
    return v2.Compose(
        [
            v2.ToImage(),
            v2.RandomPhotometricDistort(p=0.5),
            v2.RandomZoomOut(
                fill={tv_tensors.Image: 114, "others": 0}, side_range=(1.0, 1.6), p=0.3
            ),
            v2.RandomHorizontalFlip(),
            *letterbox(size),
            v2.RandomAffine(degrees=0, scale=(0.8, 1.2), fill=114),
            v2.ClampBoundingBoxes(),
            v2.SanitizeBoundingBoxes(min_size=MIN_BOX_SIDE),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(mean=list(mean), std=list(std)),
        ]
    )


def eval_transform(size: int, mean: Sequence[float], std: Sequence[float]) -> v2.Compose:
    return v2.Compose(
        [
            v2.ToImage(),
            *letterbox(size),
            v2.ClampBoundingBoxes(),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(mean=list(mean), std=list(std)),
        ]
    )


class DetectionDataset(Dataset[tuple[torch.Tensor, dict[str, torch.Tensor]]]):
    """Samples → (image, {"boxes": xyxy float32, "labels": int64, "image_id": int64})."""

    def __init__(self, samples: list[DetectionSample], transform: Callable[..., Any]) -> None:
        self.samples = samples
        self.transform = transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        sample = self.samples[index]
        image = sample.load()
        w, h = image.size
        coords = [[b.x1, b.y1, b.x2, b.y2] for b in sample.boxes]
        boxes = tv_tensors.BoundingBoxes(
            torch.tensor(coords, dtype=torch.float32).reshape(-1, 4),
            format="XYXY",
            canvas_size=(h, w),
        )
        target = {"boxes": boxes, "labels": torch.tensor(sample.labels, dtype=torch.int64)}
        image_t, target = self.transform(image, target)
        return image_t, {
            "boxes": target["boxes"].as_subclass(torch.Tensor).float(),
            "labels": target["labels"],
            "image_id": torch.tensor(index, dtype=torch.int64),
        }


def collate(
    batch: list[tuple[torch.Tensor, dict[str, torch.Tensor]]],
) -> tuple[torch.Tensor, list[dict[str, torch.Tensor]]]:
    """Same-size images stack into one tensor; targets stay a list (torchvision style)."""
    images, targets = zip(*batch, strict=True)
    return torch.stack(list(images)), list(targets)
