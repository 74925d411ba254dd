"""YOLO txt labels (``class cx cy w h``, relative to the image) in two layouts.

``yolo`` (Ultralytics)::

    root/data.yaml       names: [a, b] or {0: a, 1: b}; train/val/test: image folders,
                         .txt lists of images, or lists of either; optional path:
    root/images/<split>/x.jpg  ↔  root/labels/<split>/x.txt   (``images`` → ``labels``)

``cvat_yolo`` (CVAT "YOLO 1.1")::

    root/obj.names       one class per line
    root/obj.data        train = data/train.txt, valid = data/valid.txt, ...
    root/train.txt       data/obj_train_data/x (1).jpg   (relative to CVAT's data/ folder)
    root/obj_train_data/ images and their .txt labels side by side

Relative boxes become absolute pixels of the upright image (its header is read).
Polygon lines (Ultralytics segments) become their bounding box. Problems: unknown
class ids and malformed lines (skipped), label files with no image (orphans). An image
without a label file is a negative. The label files themselves are read and written
by ``yolo_common``, shared by both layouts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from autolearn.datasets.formats.base import (
    DatasetFormat,
    DatasetImportError,
    ExportItem,
    Problem,
    ReadResult,
    Split,
    is_image,
    walk_images,
)
from autolearn.datasets.formats.common import (
    detection_classes,
    drop_lone_train,
    problem,
    rel,
    split_word,
)
from autolearn.datasets.formats.yolo_common import (
    find_orphans,
    item_for,
    parse_labels,
    write_labels,
)

_YAML_NAMES = ("data.yaml", "data.yml", "dataset.yaml", "dataset.yml")


def _yaml_file(root: Path) -> Path | None:
    for name in _YAML_NAMES:
        if (root / name).is_file():
            return root / name
    return None


def _names(value: Any, where: str) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, dict):
        try:
            ids = sorted(int(k) for k in value)
        except (TypeError, ValueError):
            ids = []
        if ids == list(range(len(ids))):
            by_id = {int(k): str(v) for k, v in value.items()}
            return [by_id[i] for i in ids]
    raise DatasetImportError(
        f"{where}: 'names' must be a list of class names or a mapping 0: name, 1: name, …"
    )


def label_path(image: Path) -> Path:
    """Ultralytics' rule: the last ``images`` folder in the path becomes ``labels``."""
    parts = list(image.parts)
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            return Path(*parts).with_suffix(".txt")
    return image.with_suffix(".txt")


class Yolo(DatasetFormat):
    name = "yolo"
    description = "Ultralytics YOLO: data.yaml + images/ and labels/ folders"
    scenarios = ("detection",)
    priority = 25

    def detect(self, root: Path) -> bool:
        path = _yaml_file(root)
        if path is None:
            return False
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            return False
        return isinstance(data, dict) and "names" in data

    def read(self, root: Path) -> ReadResult:
        path = _yaml_file(root)
        if path is None:
            raise DatasetImportError(
                f"{root.name}/ has no data.yaml; add one with names: and train:"
            )
        where = rel(path, root)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise DatasetImportError(f"{where} is not valid YAML: {exc}") from None
        if not isinstance(data, dict) or "names" not in data:
            raise DatasetImportError(f"{where} has no 'names' list of classes")
        names = _names(data["names"], where)
        base = root
        if isinstance(data.get("path"), str) and (root / data["path"]).is_dir():
            base = root / data["path"]  # an absolute path from another machine is ignored
        problems: list[Problem] = []
        seen: dict[Path, Split] = {}
        for key in ("train", "val", "test"):
            split = split_word(key)
            assert split is not None
            entries = data.get(key) or []
            for entry in entries if isinstance(entries, list) else [entries]:
                for image in _images_of(base, str(entry), root, problems):
                    if image in seen and seen[image] != split:
                        continue  # val: images/train (coco128): an image keeps its first split
                    seen.setdefault(image, split)
        if not seen:
            raise DatasetImportError(
                f"{where} names no images: set train: (and val:) to image folders or .txt lists"
            )
        items = [
            item_for(img, label_path(img), names, split, root, problems)
            for img, split in seen.items()
        ]
        label_dirs = {label_path(img).parent for img in seen}
        problems += find_orphans(label_dirs, set(seen), root, label_path)
        return ReadResult(drop_lone_train(items), "detection", names, problems)

    def write(self, items: list[ExportItem], classes: list[str], scenario: str, dest: Path) -> None:
        """``images/<split>/``, ``labels/<split>/`` and ``data.yaml``; without splits one
        ``images/`` folder serves as both train and val (Ultralytics needs a val entry)."""
        names = detection_classes(items, classes, scenario, "YOLO")
        split = any(it.split for it in items)
        for it in items:
            sub = Path(it.split or "train") if split else Path()
            write_labels(it, names, dest / "images" / sub, dest / "labels" / sub)
        spec: dict[str, Any] = {
            "train": "images/train" if split else "images",
            "val": "images/val" if split else "images",
            "nc": len(names),
            "names": dict(enumerate(names)),
        }
        (dest / "images").mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump(spec, sort_keys=False, allow_unicode=True)
        (dest / "data.yaml").write_text(text, encoding="utf-8")


def _images_of(base: Path, entry: str, root: Path, problems: list[Problem]) -> list[Path]:
    """Images a data.yaml entry names: a folder (searched recursively), a .txt list of
    image paths, or one image."""
    target = base / entry
    if not target.exists() and entry.startswith("../"):
        target = base / entry[3:]  # Roboflow writes ../train/images; Ultralytics retries
    if target.is_dir():
        return walk_images(target)
    if target.is_file() and target.suffix.lower() == ".txt":
        out = []
        for line in target.read_text(encoding="utf-8", errors="replace").splitlines():
            line = line.strip()
            if line:
                candidate = base / line.removeprefix("./")
                out.append(candidate if candidate.exists() else target.parent / line)
        return out
    if target.is_file() and is_image(target):
        return [target]
    problems.append(
        problem(
            "missing_split",
            rel(target, root),
            f"data.yaml entry {entry!r} is not an image folder or list; ignored",
        )
    )
    return []


class CvatYolo(DatasetFormat):
    name = "cvat_yolo"
    description = "CVAT YOLO 1.1: obj.names, obj.data, train.txt, obj_train_data/"
    scenarios = ("detection",)
    priority = 25

    def detect(self, root: Path) -> bool:
        return (root / "obj.names").is_file() and (
            (root / "obj.data").is_file() or bool(_subset_dirs(root))
        )

    def read(self, root: Path) -> ReadResult:
        conf = _read_obj_data(root / "obj.data")
        names_file = _cvat_path(root, conf.get("names", "data/obj.names"))
        if not names_file.is_file():
            names_file = root / "obj.names"
        if not names_file.is_file():
            raise DatasetImportError(f"{root.name}/ has no obj.names; add one class per line")
        names = [ln.strip() for ln in names_file.read_text(encoding="utf-8").splitlines()]
        names = [n for n in names if n]
        problems: list[Problem] = []
        seen: dict[Path, Split | None] = {}
        lists = {k: v for k, v in conf.items() if split_word(k) is not None}
        if not conf:  # no obj.data: the usual list names
            lists = {
                k: f"data/{k}.txt" for k in ("train", "valid") if (root / f"{k}.txt").is_file()
            }
        for key, value in lists.items():
            list_file = _cvat_path(root, value)
            if not list_file.is_file():
                problems.append(
                    problem(
                        "missing_split",
                        rel(list_file, root),
                        f"obj.data names {value!r} for {key}, which does not exist; ignored",
                    )
                )
                continue
            for line in list_file.read_text(encoding="utf-8", errors="replace").splitlines():
                if line.strip():
                    seen.setdefault(_cvat_path(root, line.strip()), split_word(key))
        unlisted = [img for d in _subset_dirs(root) for img in walk_images(d) if img not in seen]
        if unlisted and seen:
            problems.append(
                problem(
                    "not_in_split",
                    root.name,
                    f"{len(unlisted)} image(s) in obj_*_data/ are in no list file; put in train",
                )
            )
        by_lists = bool(seen)
        for img in unlisted:  # without lists, obj_<subset>_data names the split
            subset = img.parent.name.removeprefix("obj_").removesuffix("_data")
            seen[img] = "train" if by_lists else split_word(subset)
        items = [
            item_for(img, img.with_suffix(".txt"), names, split, root, problems)
            for img, split in seen.items()
        ]
        dirs = {img.parent for img in seen} | set(_subset_dirs(root))
        problems += find_orphans(dirs, set(seen), root, lambda p: p.with_suffix(".txt"))
        return ReadResult(drop_lone_train(items), "detection", names, problems)

    def write(self, items: list[ExportItem], classes: list[str], scenario: str, dest: Path) -> None:
        """What CVAT exports: ``obj.names``, ``obj.data``, ``train.txt`` (+ ``valid.txt``)
        listing ``data/obj_<subset>_data/<name>``, images and labels side by side."""
        names = detection_classes(items, classes, scenario, "CVAT YOLO")
        dest.mkdir(parents=True, exist_ok=True)
        subsets = {"train": "train", "val": "valid"}
        listed: dict[str, list[str]] = {"train": [], "valid": []}
        for it in items:
            subset = subsets[it.split or "train"]
            folder = dest / f"obj_{subset}_data"
            written = write_labels(it, names, folder, folder)
            listed[subset].append(f"data/obj_{subset}_data/{written}")
        data = [f"classes = {len(names)}", "train = data/train.txt"]
        if listed["valid"]:
            data.append("valid = data/valid.txt")
        data += ["names = data/obj.names", "backup = backup/"]
        (dest / "obj.data").write_text("\n".join(data) + "\n", encoding="utf-8")
        (dest / "obj.names").write_text("".join(f"{n}\n" for n in names), encoding="utf-8")
        for subset, lines in listed.items():
            if lines or subset == "train":
                text = "".join(f"{ln}\n" for ln in lines)
                (dest / f"{subset}.txt").write_text(text, encoding="utf-8")


def _subset_dirs(root: Path) -> list[Path]:
    return sorted(p for p in root.glob("obj_*_data") if p.is_dir())


def _read_obj_data(path: Path) -> dict[str, str]:
    """``key = value`` lines of obj.data (darknet's format)."""
    if not path.is_file():
        return {}
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip():
            out[key.strip()] = value.strip()
    return out


def _cvat_path(root: Path, ref: str) -> Path:
    """CVAT writes paths relative to the parent of a ``data/`` folder that *is* ``root``."""
    ref = ref.replace("\\", "/")
    tail = ref.removeprefix("data/")
    for candidate in (root / tail, root / ref):
        if candidate.exists():
            return candidate
    return root / tail


__all__ = [
    "CvatYolo",
    "Yolo",
    "find_orphans",
    "item_for",
    "label_path",
    "parse_labels",
    "write_labels",
]
