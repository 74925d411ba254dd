"""Match a dataset's class names to ImageNet-1k classes by their WordNet names.

When every class of a task is an ImageNet concept ("ants", "bees", "coffee mug"), the
pretrained classifier already knows them: its rows for those classes make a head that
is right before any training step, and fine-tuning starts from there instead of from
a random head. The names come from timm's bundled ImageNet metadata (no download).
"""

from __future__ import annotations

import re
from functools import lru_cache


def _normalise(name: str) -> str:
    return re.sub(r"[\s_\-]+", " ", name.strip().lower())


def _singulars(name: str) -> list[str]:
    """'ants' → ['ants', 'ant']; 'boxes' → [..., 'box']; 'bus' stays 'bus'."""
    forms = [name]
    if name.endswith("ies") and len(name) > 4:
        forms.append(name[:-3] + "y")
    if name.endswith(("ches", "shes", "sses", "xes")):
        forms.append(name[:-2])
    if name.endswith("s") and not name.endswith("ss") and len(name) > 3:
        forms.append(name[:-1])
    return forms


@lru_cache(maxsize=1)
def _synonym_index() -> dict[str, list[int]]:
    """Synonym → ImageNet class indices ('crane' is two classes: kept ambiguous)."""
    from timm.data import ImageNetInfo

    info = ImageNetInfo()
    index: dict[str, list[int]] = {}
    for i in range(info.num_classes()):
        for synonym in info.index_to_description(i).split(","):
            index.setdefault(_normalise(synonym), []).append(i)
    return index


def match_imagenet(classes: list[str]) -> list[int] | None:
    """ImageNet index for every class, or None unless all match one class unambiguously
    and no two classes map to the same ImageNet class."""
    index = _synonym_index()
    found: list[int] = []
    for cls in classes:
        hits = {i for form in _singulars(_normalise(cls)) for i in index.get(form, [])}
        if len(hits) != 1:
            return None
        found.append(hits.pop())
    return found if len(set(found)) == len(found) else None
