"""Helpers for the format tests: turn a read into export items, write, read back, and
compare what matters (image, label, split, group, boxes to 2 decimals)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autolearn.datasets.formats import FORMATS
from autolearn.datasets.formats.base import ExportItem, ReadResult
from autolearn.datasets.formats.common import image_size

REAL = Path(__file__).resolve().parents[3].parent / "shared" / "datasets"


def to_export(result: ReadResult) -> list[ExportItem]:
    """Export items for what ``result`` read, named by image file name."""
    out = []
    for it in result.items:
        size = image_size(it.path)
        assert size is not None, it.path
        out.append(
            ExportItem(
                image=it.path,
                name=it.path.name,
                width=size[0],
                height=size[1],
                label=it.label,
                split=it.split,
                boxes=it.boxes,
                group=it.group,
            )
        )
    return out


def content(result: ReadResult, group: bool = True) -> list[tuple[Any, ...]]:
    """Sorted (file name, label, split, group, boxes rounded to 2 decimals) rows."""
    rows = []
    for it in result.items:
        boxes = None
        if it.boxes is not None:
            boxes = tuple(
                sorted(
                    (b.label, round(b.x1, 2), round(b.y1, 2), round(b.x2, 2), round(b.y2, 2))
                    for b in it.boxes
                )
            )
        rows.append((it.path.name, it.label, it.split, it.group if group else None, boxes))
    return sorted(rows, key=repr)


def roundtrip(
    fmt: str, result: ReadResult, dest: Path, classes: list[str] | None = None
) -> ReadResult:
    """Write ``result`` as ``fmt`` into ``dest`` and read it back with the same format."""
    fmt_obj = FORMATS.get(fmt)
    names = (
        classes
        or result.classes
        or sorted(
            {b.label for it in result.items for b in it.boxes or ()}
            | {it.label for it in result.items if it.label}
        )
    )
    fmt_obj.write(to_export(result), names, result.scenario, dest)
    assert fmt_obj.detect(dest)
    return fmt_obj.read(dest)


def codes(result: ReadResult) -> list[str]:
    return sorted(p.code for p in result.problems)
