"""Similar classes by the pretrained backbone's embeddings (torch and timm are imported
only inside the embedding functions)."""

from __future__ import annotations

import logging
import random
from collections import Counter, defaultdict
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from autolearn.datasets.advisor import FEW_IMAGES
from autolearn.datasets.formats.base import Box
from autolearn.datasets.health.findings import (
    EMBED_BACKBONE,
    EMBED_BATCH,
    EMBED_SIZE,
    EXAMPLES,
    MAX_EMBED_IMAGES,
    MIN_EMBED_IMAGES,
    SIMILAR_CLASS_COSINE,
    TINY_BOX_SIDE,
    Finding,
    HealthItem,
    LoadImage,
    _all_classes,
)

if TYPE_CHECKING:
    from PIL import Image
    from torch import nn

log = logging.getLogger(__name__)


def check_similar_classes(
    items: list[HealthItem],
    classes: list[str],
    load_image: LoadImage,
    *,
    max_per_class: int = 20,
    seed: int = 0,
    threshold: float = SIMILAR_CLASS_COSINE,
) -> list[Finding]:
    """Class pairs whose mean backbone embeddings are (nearly) parallel.

    Embeds up to ``max_per_class`` images per class (box crops for detection; fewer per
    class when there are many classes, ``MAX_EMBED_IMAGES`` in all) and compares class
    means by ``mean_cosine``, which corrects for sample size. Classes with fewer than
    ``MIN_EMBED_IMAGES`` samples are not compared (too noisy).
    """
    names = _all_classes(classes, items)
    per_class = min(max_per_class, max(MIN_EMBED_IMAGES, MAX_EMBED_IMAGES // max(1, len(names))))
    samples = _sample_images(items, load_image, per_class, seed)
    usable = {c: v for c, v in samples.items() if len(v) >= MIN_EMBED_IMAGES}
    if len(usable) < 2:
        return []
    embedded = embed_images(usable)
    counts = Counter(c for i in items if i.split != "val" for c in i.classes)
    labels = sorted(embedded)
    pairs: list[tuple[str, str, float, float]] = []
    for x, a in enumerate(labels):
        for b in labels[x + 1 :]:
            corrected, raw = mean_cosine(embedded[a], embedded[b])
            if corrected >= threshold:
                pairs.append((a, b, corrected, raw))
    if not pairs:
        return []
    pairs.sort(key=lambda p: -p[2])
    shown = ", ".join(f"{a} ~ {b} ({cos:.3f})" for a, b, cos, _ in pairs[:EXAMPLES])
    few = sorted({c for a, b, _, _ in pairs for c in (a, b) if counts.get(c, 0) < FEW_IMAGES})
    few_note = f"; {', '.join(few)} also have fewer than {FEW_IMAGES} images" if few else ""
    return [
        Finding(
            "similar_classes",
            "warning",
            f"{len(pairs)} class pair(s) look near-identical to the pretrained backbone "
            f"(cosine of class-mean embeddings ≥ {threshold}): {shown}{few_note}",
            "expect less: the seed says near-identical classes with fewer than "
            f"{FEW_IMAGES} images need lower expectations; merge classes that are the same "
            "thing, or add images that show what sets them apart",
            {
                "threshold": threshold,
                "pairs": [[a, b, round(c, 4), round(r, 4)] for a, b, c, r in pairs],
                "images_per_class": {c: len(v) for c, v in samples.items()},
                "not_compared": sorted(set(samples) - set(usable)),
            },
        )
    ]


def mean_cosine(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(corrected, raw) cosine of the class means of unit embeddings ``a`` and ``b``.

    The raw cosine of two sample means grows with the sample size (the noise in each
    mean shrinks), so a fixed threshold would mean different things for 8 and for 20
    images. The corrected cosine divides by unbiased estimates of the population means'
    norms, ``|mu|^2 ≈ (|sum x|^2 - n) / (n (n - 1))``: two samples of one distribution
    score about 1 whatever their size, and copies of the same images score above 1.
    """
    sa, sb = a.sum(axis=0), b.sum(axis=0)
    na, nb = len(a), len(b)
    dot = float(sa @ sb) / (na * nb)
    raw = dot / max(float(np.sqrt((sa @ sa) * (sb @ sb))) / (na * nb), 1e-12)
    ua = (float(sa @ sa) - na) / (na * (na - 1))
    ub = (float(sb @ sb) - nb) / (nb * (nb - 1))
    return dot / float(np.sqrt(max(ua, 1e-12) * max(ub, 1e-12))), raw


def _sample_images(
    items: list[HealthItem], load_image: LoadImage, per_class: int, seed: int
) -> dict[str, list[Image.Image]]:
    """Up to ``per_class`` images per class: whole images, or padded box crops."""
    from PIL.Image import Resampling

    BILINEAR = Resampling.BILINEAR
    rng = random.Random(seed)
    by_class: dict[str, list[tuple[int, Box | None]]] = defaultdict(list)
    for idx, item in enumerate(items):
        if item.boxes is None:
            if item.label is not None:
                by_class[item.label].append((idx, None))
        else:
            for b in item.boxes:
                if min(b.x2 - b.x1, b.y2 - b.y1) >= TINY_BOX_SIDE:
                    by_class[b.label].append((idx, b))
    wanted: dict[int, list[tuple[str, Box | None]]] = defaultdict(list)
    for cls in sorted(by_class):
        refs = by_class[cls]
        for idx, ref in rng.sample(refs, min(per_class, len(refs))):
            wanted[idx].append((cls, ref))
    out: dict[str, list[Image.Image]] = defaultdict(list)
    for idx in sorted(wanted):
        try:
            img = load_image(items[idx])
            if items[idx].boxes is None:  # crops need the full resolution
                img.draft("RGB", (EMBED_SIZE, EMBED_SIZE))
            img = img.convert("RGB")
        except (OSError, ValueError) as exc:
            log.warning("health: cannot read %s: %s", items[idx].key, exc)
            continue
        for cls, ref in wanted[idx]:
            picked = img if ref is None else _crop(img, ref, items[idx])
            # keep only what the backbone sees: hundreds of full-size decodes held at once
            # pushed the 10,000-image import bench past 1 GB
            out[cls].append(picked.resize((EMBED_SIZE, EMBED_SIZE), BILINEAR))
    return dict(out)


def _crop(img: Image.Image, box: Box, item: HealthItem) -> Image.Image:
    """The box with 10 % padding, in the coordinates of ``img`` (scaled if it was drafted)."""
    sx = img.width / item.width if item.width else 1.0
    sy = img.height / item.height if item.height else 1.0
    pw, ph = 0.1 * (box.x2 - box.x1), 0.1 * (box.y2 - box.y1)
    x1, x2 = max(0.0, (box.x1 - pw) * sx), min(img.width, (box.x2 + pw) * sx)
    y1, y2 = max(0.0, (box.y1 - ph) * sy), min(img.height, (box.y2 + ph) * sy)
    return img.crop((int(x1), int(y1), max(int(x1) + 1, round(x2)), max(int(y1) + 1, round(y2))))


def embed_images(samples: Mapping[str, list[Image.Image]]) -> dict[str, np.ndarray]:
    """Unit-length backbone embeddings (one row per image) of each class's images."""
    import torch

    model = _backbone()
    out: dict[str, np.ndarray] = {}
    for cls, images in samples.items():
        feats = []
        for start in range(0, len(images), EMBED_BATCH):
            chunk = images[start : start + EMBED_BATCH]
            batch = torch.stack([_to_tensor(im) for im in chunk])
            with torch.inference_mode():
                feats.append(torch.nn.functional.normalize(model(batch), dim=1))
        if feats:
            out[cls] = torch.cat(feats).numpy().astype(np.float64)
    return out


@lru_cache(maxsize=1)
def _backbone() -> nn.Module:
    from autolearn.models.zoo import create_model

    return create_model(EMBED_BACKBONE, num_classes=0, pretrained=True).eval()


def _to_tensor(img: Image.Image) -> Any:
    import torch
    from PIL import Image as PILImage

    small = img.convert("RGB").resize((EMBED_SIZE, EMBED_SIZE), PILImage.Resampling.BILINEAR)
    x = torch.from_numpy(np.asarray(small, dtype=np.float32).copy()).permute(2, 0, 1)
    return (x / 127.5) - 1.0  # lite0: mean = std = 0.5
