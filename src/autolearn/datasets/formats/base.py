"""What every dataset format provides, and the folder helpers they share."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
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
class RawItem:
    """One labelled image found by a format, before validation.

    ``split`` is ``"train"``/``"val"`` when the dataset fixes its validation set,
    ``None`` when the split is left to the training task.
    """

    path: Path
    label: str
    split: Split | None = None


class DatasetFormat(ABC):
    """A readable dataset layout, registered by name in ``formats.FORMATS``.

    ``detect`` must be cheap and free of side effects; ``read`` lists the labelled
    images and raises ``DatasetImportError`` naming the folder or file to fix.
    Formats are tried by ``priority`` (lower first), so catch-all layouts such as
    ImageFolder go last and specific ones (COCO, VOC, YOLO) get a chance first.
    """

    name: str = ""
    description: str = ""
    scenario: str = "classification"
    priority: int = 50

    @abstractmethod
    def detect(self, root: Path) -> bool:
        """Whether ``root`` looks like this format."""

    @abstractmethod
    def read(self, root: Path) -> list[RawItem]:
        """All labelled images under ``root``, in a stable order."""


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
