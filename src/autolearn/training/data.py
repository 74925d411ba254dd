"""Classification data pipeline: manifest items → tensors, with transforms v2.

Small datasets are decoded once and kept in memory, shrunk to just above the
training size: on a 2-core CPU JPEG decoding would otherwise steal time from the
model every epoch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2

CACHE_LIMIT_BYTES = 2 * 1024**3
EVAL_CROP = 0.875


@dataclass(frozen=True)
class Sample:
    """One image to load (a callable so any store can supply the bytes) and its class;
    ``sha256`` names the image in its dataset (the report's bad cases point at it)."""

    load: Callable[[], Image.Image]
    target: int
    sha256: str = ""


def train_transform(size: int, mean: Sequence[float], std: Sequence[float]) -> v2.Compose:
    """Standard fine-tuning augmentation: random crop + flip + mild colour jitter.

    Crop, flip and jitter run on the PIL image, before it becomes a tensor: as tensor ops
    they use torch's intra-op threads, which on a busy 2-core machine made one batch take
    seconds (PIL: ~20 ms)."""
    return v2.Compose(
        [
            v2.RandomResizedCrop(size, scale=(0.08, 1.0), antialias=True),
            v2.RandomHorizontalFlip(),
            v2.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.2),
            v2.PILToTensor(),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(mean=list(mean), std=list(std)),
        ]
    )


def eval_transform(size: int, mean: Sequence[float], std: Sequence[float]) -> v2.Compose:
    """The ImageNet recipe (shorter side to size/0.875, centre crop): measured on
    ants/bees it scores 3-4 points above squeezing the whole image to size × size, because
    the pretrained features expect objects at the scale ImageNet training showed them."""
    return v2.Compose(
        [
            v2.Resize(round(size / EVAL_CROP), antialias=True),
            v2.CenterCrop(size),
            v2.PILToTensor(),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(mean=list(mean), std=list(std)),
        ]
    )


class ImageClassificationDataset(Dataset[tuple[torch.Tensor, int]]):
    """Samples → (image tensor, class index), optionally caching shrunk RGB images."""

    def __init__(
        self,
        samples: list[Sample],
        transform: Callable[[Any], torch.Tensor],
        cache_side: int | None = None,
    ) -> None:
        self.samples = samples
        self.transform = transform
        self.cache_side = cache_side
        self._cache: dict[int, Image.Image] = {}

    def __len__(self) -> int:
        return len(self.samples)

    def _image(self, index: int) -> Image.Image:
        cached = self._cache.get(index)
        if cached is not None:
            return cached
        image = self.samples[index].load()
        if self.cache_side:
            image = shrink(image, self.cache_side)
            self._cache[index] = image
        return image

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.transform(self._image(index)), self.samples[index].target

    @property
    def targets(self) -> list[int]:
        return [s.target for s in self.samples]


def shrink(image: Image.Image, short_side: int) -> Image.Image:
    """Downscale so the shorter side is ``short_side`` (never upscale)."""
    w, h = image.size
    scale = short_side / min(w, h)
    if scale >= 1:
        return image
    return image.resize(
        (max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BILINEAR
    )


def cache_side_for(input_size: int, num_images: int) -> int | None:
    """Cache when the shrunk images fit the budget; the side leaves room for crops."""
    side = round(input_size / EVAL_CROP)
    approx = num_images * side * side * 4 // 3 * 3
    return side if approx <= CACHE_LIMIT_BYTES else None


def make_loader(
    dataset: Dataset[Any],
    batch_size: int,
    train: bool,
    num_workers: int,
    seed: int = 0,
    pin_memory: bool = False,
    collate_fn: Callable[[list[Any]], Any] | None = None,
) -> DataLoader[Any]:
    """A DataLoader whose shuffle order depends only on the seed (so resume can replay it)."""
    generator = torch.Generator()
    generator.manual_seed(seed)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=train,
        drop_last=train and len(dataset) > batch_size,  # type: ignore[arg-type]
        num_workers=num_workers,
        generator=generator,
        pin_memory=pin_memory,
        persistent_workers=num_workers > 0,
        collate_fn=collate_fn,
    )


def auto_num_workers(requested: int, cuda: bool) -> int:
    """0 on a small CPU box (decoding is cached; workers would fight the model for cores)."""
    import os

    if requested >= 0:
        return requested
    cores = os.cpu_count() or 1
    if not cuda and cores <= 4:
        return 0
    return min(8, max(1, cores - 1))
