"""Detection data pipeline: manifest items with boxes → (image tensor, target dict), with
box-aware augmentation from transforms v2 (boxes are ``tv_tensors.BoundingBoxes``, so
every geometric transform moves them with the pixels).

Images are resized to a fixed square ``size`` (letterboxed: the aspect ratio is kept
and the rest padded), which is what the detectors' fixed-size transforms expect and
keeps batches rectangular. Tensors stay in [0, 1]: torchvision's detectors normalise
with the backbone's mean/std inside the model, so the same model file predicts on
plain images (normalising here too would apply it twice).

``overhead`` adds what is true of scenes seen from straight above (tableware on a
tray or table): vertical flips and quarter turns do not change what an object is.
"""

from __future__ import annotations

from collections.abc import Callable
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
    """One image to load and its boxes (class indices in the task's class order);
    ``sha256`` names the image in its dataset (the report's bad cases point at it)."""

    load: Callable[[], Image.Image]
    boxes: tuple[Box, ...]
    labels: tuple[int, ...]
    sha256: str = ""


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


class _RandomQuarterTurn(v2.Transform):
    """Rotate by 0, 90, 180 or 270 degrees (boxes stay axis-aligned and exact)."""

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        return {"angle": 90 * int(torch.randint(0, 4, ()).item())}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        if params["angle"] == 0:
            return inpt
        return v2.functional.rotate(inpt, params["angle"], expand=True)


def train_transform(size: int, overhead: bool = False) -> v2.Compose:
    """Photometric jitter, flips and scale jitter (zoom out/in), all moving the boxes."""
    view = [v2.RandomVerticalFlip(), _RandomQuarterTurn()] if overhead else []
    return v2.Compose(
        [
            v2.ToImage(),
            v2.RandomPhotometricDistort(p=0.5),
            v2.RandomZoomOut(
                fill={tv_tensors.Image: 114, "others": 0}, side_range=(1.0, 1.6), p=0.3
            ),
            v2.RandomHorizontalFlip(),
            *view,
            *letterbox(size),
            v2.RandomAffine(degrees=0, scale=(0.8, 1.2), fill=114),
            v2.ClampBoundingBoxes(),
            v2.SanitizeBoundingBoxes(min_size=MIN_BOX_SIDE),
            v2.ToDtype(torch.float32, scale=True),
        ]
    )


def eval_transform(size: int) -> v2.Compose:
    return v2.Compose(
        [
            v2.ToImage(),
            *letterbox(size),
            v2.ClampBoundingBoxes(),
            v2.ToDtype(torch.float32, scale=True),
        ]
    )


def letterbox_scale(width: int, height: int, size: int) -> tuple[float, float]:
    """The x and y factors :func:`letterbox` resizes an image by (boxes divide by them to go
    back), computed the way ``v2.Resize(size - 1, max_size=size)`` rounds."""
    short, long = sorted((width, height))
    new_short, new_long = size - 1, int((size - 1) * long / short)
    if new_long > size:
        new_short, new_long = int(size * new_short / new_long), size
    new_w, new_h = (new_short, new_long) if width <= height else (new_long, new_short)
    return new_w / width, new_h / height


class DetectionDataset(Dataset[tuple[torch.Tensor, dict[str, torch.Tensor]]]):
    """Samples → (image, {"boxes": xyxy float32, "labels": int64, "image_id": int64}).

    ``cache_side``: keep every decoded image in memory, shrunk so its longest side is at
    most that (boxes scaled with it). The letterbox shrinks to the input size anyway, so
    caching at that side changes nothing the model sees, and saves decoding a 1024 px
    JPEG every epoch (the largest cost per image on a CPU after the model itself).
    """

    def __init__(
        self,
        samples: list[DetectionSample],
        transform: Callable[..., Any],
        cache_side: int | None = None,
    ) -> None:
        self.samples = samples
        self.transform = transform
        self.cache_side = cache_side
        self._cache: dict[int, tuple[Image.Image, float]] = {}

    def __len__(self) -> int:
        return len(self.samples)

    def _image(self, index: int) -> tuple[Image.Image, float]:
        """The image and the factor its boxes must be multiplied by."""
        if index in self._cache:
            return self._cache[index]
        image = self.samples[index].load()
        scale = 1.0
        if self.cache_side is not None:
            w, h = image.size
            scale = min(1.0, self.cache_side / max(w, h))
            if scale < 1.0:
                size = (max(1, round(w * scale)), max(1, round(h * scale)))
                scale = size[0] / w
                image = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
            self._cache[index] = (image, scale)
        return image, scale

    def __getitem__(self, index: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        sample = self.samples[index]
        image, scale = self._image(index)
        w, h = image.size
        coords = [[b.x1 * scale, b.y1 * scale, b.x2 * scale, b.y2 * scale] for b in sample.boxes]
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
