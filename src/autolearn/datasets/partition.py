"""Which items of a dataset version train and which validate, for one task.

Deterministic from (version, spec): the task service computes it at creation to
count classes for the plan and advice; the worker recomputes the same split.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from autolearn.datasets.service import Manifest, ManifestItem
from autolearn.datasets.split import stratified_split


@dataclass
class Partition:
    train: list[ManifestItem]
    val: list[ManifestItem]
    fixed: bool

    def counts(self, which: str) -> dict[str, int]:
        """Images per class, or boxes per class for detection (what a detector learns from)."""
        items = self.train if which == "train" else self.val
        if any(i.boxes is not None for i in items):
            return dict(sorted(Counter(b.label for i in items for b in i.boxes or ()).items()))
        return dict(sorted(Counter(i.label or "" for i in items).items()))


def strata(items: list[ManifestItem]) -> list[str]:
    """What a stratified split balances: the label, or for detection the item's rarest
    class (so a class seen on few images still reaches validation); "" for negatives."""
    if all(i.boxes is None for i in items):
        return [i.label or "" for i in items]
    frequency = Counter(c for i in items for c in i.classes)
    return [min(i.classes, key=lambda c: (frequency[c], c)) if i.classes else "" for i in items]


def partition(manifest: Manifest, use_fixed: bool, val_percent: float, seed: int) -> Partition:
    """The dataset's own val split when it has one (and the task wants it), else a
    stratified split of everything by ``val_percent``."""
    if use_fixed and manifest.has_fixed_val:
        return Partition(manifest.items_in("train"), manifest.items_in("val"), fixed=True)
    items = list(manifest.items)
    train_idx, val_idx = stratified_split(strata(items), val_percent, seed)
    return Partition([items[i] for i in train_idx], [items[i] for i in val_idx], fixed=False)
