"""ImageFolder: one folder per class, optionally inside ``train/`` and ``val/``.

Accepted layouts (after descending through a single wrapper folder)::

    root/<class>/**/<image>                     no fixed validation set
    root/train/<class>/**/<image>               fixed validation set:
    root/val/<class>/**/<image>                 ``valid``/``validation``/``test`` also name it

Image extensions are matched case-insensitively; hidden entries and ``__MACOSX``
are skipped; other files (READMEs, label lists) are ignored.

``write`` produces the same layouts: plain class folders when no item has a split,
otherwise ``train/`` and ``val/`` of class folders (items without a split go to
``train/``, since ImageFolder cannot mix split and unsplit images).
"""

from __future__ import annotations

import os
from pathlib import Path

from autolearn.datasets.formats.base import (
    IMAGE_EXTENSIONS,
    DatasetError,
    DatasetFormat,
    DatasetImportError,
    ExportItem,
    RawItem,
    ReadResult,
    Split,
    is_hidden,
    is_image,
    visible_dirs,
    visible_entries,
    walk_images,
)
from autolearn.datasets.formats.common import copy_image

TRAIN_NAMES = ("train", "training")
VAL_NAMES = ("val", "valid", "validation", "test")


def _has_image(folder: Path) -> bool:
    for _dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not is_hidden(d)]
        if any(is_image(Path(f)) for f in filenames):
            return True
    return False


def _split_dirs(root: Path) -> tuple[Path | None, list[Path], list[Path]]:
    """(train folder, validation folders, other folders) among ``root``'s folders."""
    train: Path | None = None
    vals: list[Path] = []
    others: list[Path] = []
    for d in visible_dirs(root):
        low = d.name.lower()
        if low in TRAIN_NAMES and train is None:
            train = d
        elif low in VAL_NAMES:
            vals.append(d)
        else:
            others.append(d)
    return train, vals, others


class ImageFolder(DatasetFormat):
    name = "imagefolder"
    description = "one folder per class, optionally inside train/ and val/ folders"
    scenarios = ("classification",)
    priority = 100  # the catch-all layout: specific formats are tried first

    def detect(self, root: Path) -> bool:
        return any(_has_image(d) for d in visible_dirs(root))

    def read(self, root: Path) -> ReadResult:
        return ReadResult(self._read_items(root), scenario="classification", classes=None)

    def _read_items(self, root: Path) -> list[RawItem]:
        train, vals, others = _split_dirs(root)
        if train is None and not vals:
            return self._read_classes(root, split=None)
        where = root.name or str(root)
        if train is None:
            raise DatasetImportError(
                f"{where}/ has a validation folder ({vals[0].name}/) but no train/ folder; "
                "add train/<class>/ folders, or put the class folders directly under the root"
            )
        if len(vals) > 1:
            names = ", ".join(f"{v.name}/" for v in vals)
            raise DatasetImportError(
                f"{where}/ has several validation folders ({names}); keep one of them "
                "(rename or remove the others) so the fixed validation set is unambiguous"
            )
        if others:
            names = ", ".join(f"{o.name}/" for o in others)
            raise DatasetImportError(
                f"{where}/ mixes split folders (train/, val/) with other folders ({names}); "
                "move class folders inside train/ and val/, or remove the extra folders"
            )
        items = self._read_classes(train, split="train")
        if vals:
            items += self._read_classes(vals[0], split="val")
        return items

    def _read_classes(self, folder: Path, split: Split | None) -> list[RawItem]:
        loose = [p for p in visible_entries(folder) if p.is_file() and is_image(p)]
        if loose:
            raise DatasetImportError(
                f"image {folder.name}/{loose[0].name} is not inside a class folder "
                f"({len(loose)} such image(s)); move each image into a folder named after its class"
            )
        items: list[RawItem] = []
        for class_dir in visible_dirs(folder):
            images = walk_images(class_dir)
            if not images:
                raise DatasetImportError(
                    f"class folder {folder.name}/{class_dir.name}/ has no images "
                    f"(looked for {', '.join(sorted(e[1:] for e in IMAGE_EXTENSIONS))}); "
                    "add images to it or remove the folder"
                )
            items.extend(RawItem(path=p, label=class_dir.name, split=split) for p in images)
        return items

    def write(self, items: list[ExportItem], classes: list[str], scenario: str, dest: Path) -> None:
        """Copy each image into ``dest/[train|val/]<label>/<name>``.

        Classes without images get no folder: ``read`` refuses empty class folders.
        """
        if scenario != "classification":
            raise DatasetError(
                f"ImageFolder holds classification labels only, not {scenario} boxes; "
                "export this version as coco, voc, yolo, csv or labelstudio instead"
            )
        split_layout = any(it.split is not None for it in items)
        for it in items:
            if it.label is None:
                raise DatasetError(
                    f"image {it.name} has no class label; label it before exporting as ImageFolder"
                )
            folder = dest / (it.split or "train") if split_layout else dest
            copy_image(it.image, folder / it.label / it.name)
        dest.mkdir(parents=True, exist_ok=True)
