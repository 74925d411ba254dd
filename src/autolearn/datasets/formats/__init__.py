"""Dataset formats, registered by name and auto-detected.

A format is a ``DatasetFormat`` (see ``base.py``); add one by registering an
instance in ``FORMATS``. ``detect_format`` tries them by priority.
"""

from __future__ import annotations

from pathlib import Path

from autolearn.datasets.formats.base import (
    IMAGE_EXTENSIONS,
    DatasetError,
    DatasetFormat,
    DatasetImportError,
    RawItem,
    Split,
    unwrap,
)
from autolearn.datasets.formats.coco import Coco
from autolearn.datasets.formats.csv_format import Csv
from autolearn.datasets.formats.imagefolder import ImageFolder
from autolearn.datasets.formats.labelstudio import LabelStudio
from autolearn.datasets.formats.voc import Voc
from autolearn.datasets.formats.yolo import CvatYolo, Yolo
from autolearn.registry import Registry

FORMATS: Registry[DatasetFormat] = Registry("dataset format")
for _fmt in (Coco(), Voc(), Yolo(), CvatYolo(), LabelStudio(), Csv(), ImageFolder()):
    FORMATS.register(_fmt.name, _fmt)


def get_format(name: str) -> DatasetFormat:
    """The format registered as ``name``; a miss lists the known ones."""
    try:
        return FORMATS.get(name)
    except KeyError as exc:
        raise DatasetImportError(f"{exc}; pass one of them as the format, or 'auto'") from None


def detect_format(root: Path | str) -> str:
    """Name of the first format (by priority) that recognises ``root``."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetImportError(f"{root} is not a folder; point the import at a folder or a .zip")
    formats = sorted((FORMATS.get(n) for n in FORMATS), key=lambda f: (f.priority, f.name))
    for fmt in formats:
        if fmt.detect(root):
            return fmt.name
    known = "; ".join(f"{f.name} ({f.description})" for f in formats)
    raise DatasetImportError(
        f"no known dataset format fits {root}; known formats: {known}. "
        "Arrange the images in one of these layouts, or name the format explicitly"
    )


__all__ = [
    "FORMATS",
    "IMAGE_EXTENSIONS",
    "DatasetError",
    "DatasetFormat",
    "DatasetImportError",
    "ImageFolder",
    "RawItem",
    "Split",
    "detect_format",
    "get_format",
    "unwrap",
]
