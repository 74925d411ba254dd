"""Helpers the annotation formats share: image sizes, finding images named by an
annotation, split names, compact number text and problem records.

Formats only ever see a folder (the importer unpacks zips first), so every lookup
here is a plain filesystem one.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from autolearn.datasets.formats.base import (
    IMAGE_EXTENSIONS,
    DatasetError,
    ExportItem,
    Problem,
    RawItem,
    Split,
    is_image,
    walk_images,
)

# EXIF orientations that turn the stored image by 90° (so width and height swap).
_TRANSPOSED = frozenset({5, 6, 7, 8})
_TRAIN_WORDS = ("train", "training", "trainval")
_VAL_WORDS = ("val", "valid", "validation", "test", "testing", "eval")


def image_size(path: Path) -> tuple[int, int] | None:
    """(width, height) of the upright image, read from the header only.

    Relative coordinates (YOLO, Label Studio fallbacks) refer to the image as shown,
    i.e. after EXIF rotation, which is also the frame ``Box`` uses. ``None`` when
    the file is missing or unreadable (the validator reports it).
    """
    from PIL import Image  # imported here: the CLI imports formats and should start fast

    try:
        with Image.open(path) as img:
            width, height = img.size
            try:
                orientation = img.getexif().get(0x0112)
            except Exception:  # a broken EXIF block is no reason to lose the size
                orientation = None
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    if orientation in _TRANSPOSED:
        return height, width
    return width, height


def rel(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` (posix) for problem reports; absolute when outside."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


Severity = Literal["error", "warning", "info"]


def problem(code: str, file: str, message: str, severity: Severity = "warning") -> Problem:
    """A ``Problem``; warnings by default, since most reading findings are kept or skipped."""
    return Problem(code=code, severity=severity, file=file, message=message)


def split_word(text: str) -> Split | None:
    """The split a name means: ``train``/``trainval`` → train; ``val``/``valid``/``test`` →
    val (a source's test set is our fixed validation set); anything else → ``None``."""
    low = text.strip().lower()
    if low in _TRAIN_WORDS:
        return "train"
    if low in _VAL_WORDS:
        return "val"
    return None


def split_in_name(name: str) -> Split | None:
    """The split a file name carries as a token: ``instances_val2017`` → val,
    ``train_labels`` → train; ``None`` when it names neither."""
    tokens = "".join(c if c.isalpha() else " " for c in name.lower()).split()
    found = {split_word(t) for t in tokens} - {None}
    return found.pop() if len(found) == 1 else None


def drop_lone_train(items: list[RawItem]) -> list[RawItem]:
    """Splits only mean something when a validation set exists: a source that marks
    everything ``train`` (one list file, one split folder) leaves the split to the task."""
    if any(it.split == "val" for it in items):
        return items
    return [_with_split(it, None) if it.split is not None else it for it in items]


def _with_split(item: RawItem, split: Split | None) -> RawItem:
    return RawItem(
        path=item.path,
        label=item.label,
        split=split,
        boxes=item.boxes,
        group=item.group,
        ref=item.ref,
    )


def find_with_stem(folder: Path, stem: str) -> Path | None:
    """An image in ``folder`` named ``stem`` + any image extension (either case)."""
    for ext in sorted(IMAGE_EXTENSIONS):
        for candidate in (folder / f"{stem}{ext}", folder / f"{stem}{ext.upper()}"):
            if candidate.is_file():
                return candidate
    return None


class NameIndex:
    """Images under a folder by file name, for annotations that name an image by a
    path from another machine (``/data/upload/1/x.jpg``, ``C:\\\\shots\\\\x.jpg``)."""

    def __init__(self, root: Path) -> None:
        self._by_name: dict[str, list[Path]] = {}
        for path in walk_images(root):
            self._by_name.setdefault(path.name, []).append(path)
            self._by_name.setdefault(path.name.lower(), []).append(path)

    def find(self, name: str) -> Path | None:
        """The one image called ``name`` (case-insensitive fallback); ``None`` when
        there is none or several (ambiguous)."""
        hits = self._by_name.get(name) or self._by_name.get(name.lower()) or []
        unique = list(dict.fromkeys(hits))
        return unique[0] if len(unique) == 1 else None


def resolve(ref: str, bases: Iterable[Path], index: NameIndex | None = None) -> Path | None:
    """The existing image that ``ref`` names: tried relative to each base folder in
    turn, then by its file name in ``index``."""
    clean = ref.replace("\\", "/").strip()
    rel_ref = clean.lstrip("/")
    for base in bases:
        candidate = base / rel_ref
        if rel_ref and candidate.is_file():
            return candidate
    if index is not None and clean:
        return index.find(clean.rsplit("/", 1)[-1])
    return None


def num(value: float, decimals: int = 4) -> str:
    """Compact decimal text: ``81`` for 81.0, ``12.5`` for 12.5, at most ``decimals``
    places (boxes are compared to 2 decimals after a round trip)."""
    text = f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def copy_images(items: Iterable[ExportItem], folder: Path) -> None:
    """Copy each item's image to ``folder/<name>`` (nothing to do when it is already there)."""
    for it in items:
        copy_image(it.image, folder / it.name)


def copy_image(src: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if not (target.exists() and target.samefile(src)):
        shutil.copyfile(src, target)


def detection_classes(
    items: list[ExportItem], classes: list[str], scenario: str, fmt: str
) -> list[str]:
    """The class list for a box format's export; a classification version is refused."""
    if scenario != "detection":
        raise DatasetError(
            f"{fmt} holds detection boxes; export a classification version as "
            "imagefolder, csv or labelstudio"
        )
    return export_classes(items, classes)


def export_classes(items: Iterable[ExportItem], classes: list[str]) -> list[str]:
    """``classes`` followed by any label the items use that it misses, so that no box
    is written with a class id the class list does not have."""
    out = list(dict.fromkeys(classes))
    seen = set(out)
    for it in items:
        labels = [b.label for b in it.boxes or ()] + ([it.label] if it.label else [])
        for label in labels:
            if label not in seen:
                seen.add(label)
                out.append(label)
    return out


def is_image_file(path: Path) -> bool:
    return path.is_file() and is_image(path)
