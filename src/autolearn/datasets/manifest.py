"""A version's content: manifest items, the manifest JSON, the content hash, class
counts and the lineage diff between two versions. Pure data: no database here.

The content hash is sha256 over the canonical JSON of the scenario, the class list
and the sorted items' (image sha256, label, boxes, split, group). File names, item
order and the box order within an image do not enter it, so import → export →
import of the same data gives the same hash.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageOps

from autolearn.datasets.formats.base import Box, classes_of
from autolearn.storage import ObjectStore

MANIFEST_VERSION = 2


@dataclass(frozen=True)
class ManifestItem:
    """One image of a version. ``boxes`` is ``None`` for classification items and a
    tuple (empty: a negative image) for detection; sizes are upright pixels."""

    blob: str
    sha256: str
    split: str | None = None
    label: str | None = None
    boxes: tuple[Box, ...] | None = None
    group: str | None = None
    source_path: str = ""
    width: int = 0
    height: int = 0

    @property
    def classes(self) -> list[str]:
        """Its label, or the distinct labels of its boxes."""
        return classes_of(self.label, self.boxes)


@dataclass
class Manifest:
    """A version's classes and items, with image reads through its object store."""

    classes: list[str]
    items: list[ManifestItem]
    format: str
    scenario: str
    content_hash: str
    store: ObjectStore = field(repr=False)

    @property
    def has_fixed_val(self) -> bool:
        return any(item.split == "val" for item in self.items)

    def items_in(self, split: str | None) -> list[ManifestItem]:
        return [item for item in self.items if item.split == split]

    def open_image(self, item: ManifestItem) -> Image.Image:
        """The item's image as RGB, rotated upright by its EXIF orientation."""
        with self.store.open(item.blob) as stream, Image.open(stream) as img:
            upright = ImageOps.exif_transpose(img)
            return to_rgb(upright if upright is not None else img)


def to_rgb(img: Image.Image) -> Image.Image:
    """Convert any Pillow mode to RGB (palette transparency and 16-bit handled)."""
    if img.mode == "RGB":
        return img
    if img.mode in ("P", "PA") and "transparency" in img.info:
        img = img.convert("RGBA")
    elif img.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        import numpy as np

        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") else max(float(arr.max()), 255.0)
        arr = np.clip(arr * (255.0 / top), 0, 255).astype(np.uint8)
        img = Image.fromarray(arr)
    return img.convert("RGB")


def blob_key(sha256: str, ext: str) -> str:
    return f"blobs/{sha256[:2]}/{sha256}{ext}"


def manifest_key(name: str, content_hash: str) -> str:
    return f"datasets/{name}/{content_hash}/manifest.json"


def round_box(b: Box) -> Box:
    return Box(
        b.label,
        round(float(b.x1), 2),
        round(float(b.y1), 2),
        round(float(b.x2), 2),
        round(float(b.y2), 2),
    )


def normalise(item: Any) -> ManifestItem:
    """A ``ManifestItem`` from anything with its attributes, boxes rounded to 2 decimals."""
    boxes = getattr(item, "boxes", None)
    return ManifestItem(
        blob=item.blob,
        sha256=item.sha256,
        split=getattr(item, "split", None),
        label=getattr(item, "label", None),
        boxes=None if boxes is None else tuple(round_box(b) for b in boxes),
        group=getattr(item, "group", None),
        source_path=getattr(item, "source_path", "") or "",
        width=int(getattr(item, "width", 0) or 0),
        height=int(getattr(item, "height", 0) or 0),
    )


def _boxes_key(boxes: tuple[Box, ...] | None) -> list[list[Any]] | None:
    if boxes is None:
        return None
    return sorted([b.label, b.x1, b.y1, b.x2, b.y2] for b in boxes)


def compute_content_hash(
    items: Iterable[ManifestItem], classes: Sequence[str], scenario: str = "classification"
) -> str:
    """sha256 of the canonical JSON of (scenario, classes, sorted item rows)."""
    rows = sorted(
        json.dumps(
            [it.sha256, it.label, _boxes_key(it.boxes), it.split, it.group],
            separators=(",", ":"),
        )
        for it in items
    )
    payload = json.dumps(
        {"scenario": scenario, "classes": list(classes), "items": rows}, separators=(",", ":")
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def item_to_json(it: ManifestItem) -> dict[str, Any]:
    boxes = None
    if it.boxes is not None:
        boxes = [{"label": b.label, "bbox": [b.x1, b.y1, b.x2, b.y2]} for b in it.boxes]
    return {
        "blob": it.blob,
        "sha256": it.sha256,
        "split": it.split,
        "label": it.label,
        "boxes": boxes,
        "group": it.group,
        "source_path": it.source_path,
        "width": it.width,
        "height": it.height,
    }


def item_from_json(d: dict[str, Any]) -> ManifestItem:
    boxes = d.get("boxes")
    return ManifestItem(
        blob=d["blob"],
        sha256=d["sha256"],
        split=d.get("split"),
        label=d.get("label"),
        boxes=None if boxes is None else tuple(Box(b["label"], *b["bbox"]) for b in boxes),
        group=d.get("group"),
        source_path=d.get("source_path", ""),
        width=int(d.get("width", 0)),
        height=int(d.get("height", 0)),
    )


def manifest_json(
    items: Sequence[ManifestItem],
    classes: Sequence[str],
    scenario: str,
    content_hash: str,
    fmt: str,
) -> dict[str, Any]:
    return {
        "manifest_version": MANIFEST_VERSION,
        "content_hash": content_hash,
        "format": fmt,
        "scenario": scenario,
        "classes": list(classes),
        "items": [item_to_json(it) for it in items],
    }


def class_counts(
    items: Sequence[ManifestItem], classes: Sequence[str], scenario: str
) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """(counts, image counts) per split: ``{"train": …, "val": …}`` with a fixed val set,
    else ``{"all": …}``. Classification counts images; detection counts boxes in
    ``counts`` and images holding the class in ``image counts``."""
    has_val = any(it.split == "val" for it in items)
    groups = (
        {
            "train": [i for i in items if i.split != "val"],
            "val": [i for i in items if i.split == "val"],
        }
        if has_val
        else {"all": list(items)}
    )
    counts: dict[str, dict[str, int]] = {}
    images: dict[str, dict[str, int]] = {}
    for split, members in groups.items():
        if scenario == "detection":
            boxes = Counter(b.label for it in members for b in it.boxes or ())
            holding = Counter(lab for it in members for lab in {b.label for b in it.boxes or ()})
        else:
            boxes = holding = Counter(it.label for it in members if it.label is not None)
        counts[split] = {c: boxes.get(c, 0) for c in classes}
        images[split] = {c: holding.get(c, 0) for c in classes}
    return counts, images


def diff_items(
    old: Sequence[ManifestItem],
    new: Sequence[ManifestItem],
    old_classes: Sequence[str],
    new_classes: Sequence[str],
) -> dict[str, Any]:
    """What changed from ``old`` to ``new``, matching images by content hash."""
    by_old: dict[str, list[ManifestItem]] = {}
    by_new: dict[str, list[ManifestItem]] = {}
    for it in old:
        by_old.setdefault(it.sha256, []).append(it)
    for it in new:
        by_new.setdefault(it.sha256, []).append(it)
    out = Counter[str]()
    for sha in by_old.keys() | by_new.keys():
        o, n = by_old.get(sha, []), by_new.get(sha, [])
        out["images_added"] += max(0, len(n) - len(o))
        out["images_removed"] += max(0, len(o) - len(n))
        if not o or not n:
            boxes = sum(len(it.boxes or ()) for it in (n or o))
            out["boxes_added" if n else "boxes_removed"] += boxes
            continue
        ob, nb = Counter(o[0].boxes or ()), Counter(n[0].boxes or ())
        out["boxes_added"] += sum((nb - ob).values())
        out["boxes_removed"] += sum((ob - nb).values())
        if Counter(i.label for i in o) != Counter(i.label for i in n) or ob != nb:
            out["images_relabelled"] += 1
        if Counter(i.split for i in o) != Counter(i.split for i in n):
            out["images_moved_split"] += 1
    keys = (
        "images_added",
        "images_removed",
        "images_relabelled",
        "images_moved_split",
        "boxes_added",
        "boxes_removed",
    )
    result: dict[str, Any] = {k: out[k] for k in keys}
    result["classes_added"] = [c for c in new_classes if c not in set(old_classes)]
    result["classes_removed"] = [c for c in old_classes if c not in set(new_classes)]
    return result


__all__ = [
    "MANIFEST_VERSION",
    "Manifest",
    "ManifestItem",
    "blob_key",
    "class_counts",
    "compute_content_hash",
    "diff_items",
    "item_from_json",
    "item_to_json",
    "manifest_json",
    "manifest_key",
    "normalise",
    "round_box",
    "to_rgb",
]
