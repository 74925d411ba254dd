"""What every dataset format provides, and the folder helpers they share."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Split = Literal["train", "val"]

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})


class DatasetError(ValueError):
    """A dataset problem the user can fix; the message names the file or name and says how."""


class DatasetImportError(DatasetError):
    """An import was refused (bad layout, unreadable image, too few classes, …)."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems: list[str] = list(problems or [])


@dataclass(frozen=True)
class Box:
    """One labelled box in absolute pixels of the upright (EXIF-rotated) image:
    ``x1 < x2`` and ``y1 < y2`` when valid. Readers pass boxes through as the source
    says; validation clips, drops and reports."""

    label: str
    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def area(self) -> float:
        return max(0.0, self.x2 - self.x1) * max(0.0, self.y2 - self.y1)


def classes_of(label: str | None, boxes: tuple[Box, ...] | None) -> list[str]:
    """An item's classes: the distinct labels of its boxes (detection), else its label."""
    if boxes is not None:
        return sorted({b.label for b in boxes})
    return [] if label is None else [label]


@dataclass(frozen=True)
class Problem:
    """A finding about the source, with where it is and what the import did about it.

    ``severity`` "error": the item (or, under the strict policy, the import) is refused;
    "warning": fixed or kept, listed in the report; "info": counted only.
    """

    code: str
    severity: Literal["error", "warning", "info"]
    file: str
    message: str


@dataclass(frozen=True)
class RawItem:
    """One image found by a format, before validation.

    Classification items have ``label``; detection items have ``boxes`` (an empty
    tuple is a negative image, allowed). ``split`` is ``"train"``/``"val"`` when the
    source fixes its validation set (a source's ``test`` set counts as ``val``),
    ``None`` when the split is left to the task. ``group`` keeps near-duplicate shots
    together in a group split. ``ref`` is the image as the annotation names it (for
    reports when the file is missing: then ``path`` does not exist).
    """

    path: Path
    label: str | None = None
    split: Split | None = None
    boxes: tuple[Box, ...] | None = None
    group: str | None = None
    ref: str = ""


@dataclass
class ReadResult:
    """What a format read: items, the class list when the source declares one (COCO
    categories, YOLO names: their order is kept), and problems found while reading
    (orphan labels, unknown class ids, unparsable lines...)."""

    items: list[RawItem]
    scenario: Literal["classification", "detection"]
    classes: list[str] | None = None
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class ExportItem:
    """One image of a version, for a format's ``write``: the local file of its bytes,
    a file name unique within the export, and its labels."""

    image: Path
    name: str
    width: int
    height: int
    label: str | None = None
    split: Split | None = None
    boxes: tuple[Box, ...] | None = None
    group: str | None = None


class DatasetFormat(ABC):
    """A dataset layout, registered by name in ``formats.FORMATS``.

    ``detect`` must be cheap and free of side effects; ``read`` lists the images with
    their labels and raises ``DatasetImportError`` naming the folder or file to fix
    when the layout itself is broken (bad problems with single items go into
    ``ReadResult.problems`` instead). ``write`` exports a version so that reading it
    back gives the same content. Formats are tried by ``priority`` (lower first), so
    catch-all layouts such as ImageFolder go last.
    """

    name: str = ""
    description: str = ""
    scenarios: tuple[str, ...] = ("classification",)
    priority: int = 50

    @abstractmethod
    def detect(self, root: Path) -> bool:
        """Whether ``root`` looks like this format."""

    @abstractmethod
    def read(self, root: Path) -> ReadResult:
        """All images under ``root`` with their labels, in a stable order."""

    @abstractmethod
    def write(self, items: list[ExportItem], classes: list[str], scenario: str, dest: Path) -> None:
        """Write ``items`` under ``dest`` in this format (copying the image files)."""


def is_hidden(name: str) -> bool:
    """Entries that are never data: dot files and the ``__MACOSX`` folders zips carry."""
    return name.startswith(".") or name == "__MACOSX"


def is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS and not is_hidden(path.name)


def visible_entries(folder: Path) -> list[Path]:
    """Non-hidden entries of ``folder``, sorted by name."""
    return sorted((p for p in folder.iterdir() if not is_hidden(p.name)), key=lambda p: p.name)


def visible_dirs(folder: Path) -> list[Path]:
    return [p for p in visible_entries(folder) if p.is_dir()]


def walk_images(folder: Path) -> list[Path]:
    """Image files anywhere under ``folder`` (hidden entries skipped), sorted."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not is_hidden(d)]
        found.extend(Path(dirpath) / f for f in filenames if is_image(Path(f)))
    return sorted(found)


def unwrap(root: Path) -> Path:
    """Descend through single wrapper folders, as zips of a folder often have.

    ``root`` is descended into while it holds no image files and exactly one
    visible folder that itself has sub-folders (so a lone class folder full of
    images is not mistaken for a wrapper).
    """
    while True:
        entries = visible_entries(root)
        dirs = [p for p in entries if p.is_dir()]
        if len(dirs) != 1 or any(p.is_file() and is_image(p) for p in entries):
            return root
        if not visible_dirs(dirs[0]):
            return root
        root = dirs[0]
