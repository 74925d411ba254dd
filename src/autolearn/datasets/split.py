"""Reproducible, stratified train/validation splits."""

from __future__ import annotations

import math
import zlib
from collections import defaultdict

import numpy as np


def stratified_split(
    labels: list[str], val_percent: float, seed: int = 0
) -> tuple[list[int], list[int]]:
    """Split item indices into (train, val), class by class.

    Each class sends ``round(n * val_percent / 100)`` images (halves round up) to
    validation, clamped so that a class with two or more images keeps at least one
    image on each side; a class with a single image stays in train. The choice
    depends only on ``seed``, the class name and that class's items, so adding a
    class does not reshuffle the others. Both lists are sorted ascending.
    """
    if not 0 < val_percent < 100:
        raise ValueError(
            f"val_percent must be between 0 and 100 (exclusive), got {val_percent!r}; "
            "use e.g. 20 for a 20 % validation split"
        )
    by_class: dict[str, list[int]] = defaultdict(list)
    for idx, label in enumerate(labels):
        by_class[label].append(idx)

    train: list[int] = []
    val: list[int] = []
    for label, idxs in by_class.items():
        n = len(idxs)
        if n < 2:
            train.extend(idxs)
            continue
        k = math.floor(n * val_percent / 100 + 0.5)
        k = min(max(k, 1), n - 1)
        rng = np.random.default_rng([seed % 2**64, zlib.crc32(label.encode("utf-8"))])
        chosen = set(rng.permutation(n)[:k].tolist())
        for pos, idx in enumerate(idxs):
            (val if pos in chosen else train).append(idx)
    return sorted(train), sorted(val)
