"""COCO instances JSON: ``images``, ``annotations`` (``bbox`` = [x, y, w, h] in pixels)
and ``categories``, beside a folder of images.

Where the JSON may be::

    root/annotations/*.json        (instances_*.json preferred over captions/keypoints)
    root/*.json                    (a single top-level file)
    root/<train|valid|val|test>/*.json   (Roboflow's split folders)

Several JSON files are several splits; each file's split comes from its name
(``instances_val2017.json`` → val, ``test`` counts as val). Images are found relative
to the JSON's folder, ``root/``, ``root/images/`` or a folder named like the JSON
(``train2017/``), then by file name anywhere under ``root``.

Problems: annotations naming an unknown image (orphans) or category, and boxes that
are not four numbers, are skipped and reported; crowd annotations are skipped (counted);
images listed but absent on disk are kept with a path that does not exist, for the
validator to report. Images without annotations are negatives (``boxes=()``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from autolearn.datasets.formats.base import (
    Box,
    DatasetFormat,
    DatasetImportError,
    ExportItem,
    Problem,
    RawItem,
    ReadResult,
    Split,
    is_hidden,
)
from autolearn.datasets.formats.common import (
    NameIndex,
    copy_images,
    detection_classes,
    drop_lone_train,
    problem,
    rel,
    resolve,
    split_in_name,
    split_word,
)

_SPLIT_DIRS = ("train", "valid", "val", "test")


def _load(path: Path) -> Any:
    try:
        with path.open("rb") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def _is_coco(data: Any) -> bool:
    return isinstance(data, dict) and all(
        isinstance(data.get(k), list) for k in ("images", "annotations", "categories")
    )


def _json_files(root: Path) -> list[Path]:
    """Candidate annotation files, in the places listed in the module docstring."""
    found: list[Path] = []
    for folder in (root / "annotations", root, *(root / d for d in _SPLIT_DIRS)):
        if folder.is_dir():
            found.extend(
                p for p in sorted(folder.glob("*.json")) if p.is_file() and not is_hidden(p.name)
            )
    instances = [p for p in found if p.name.lower().startswith("instances")]
    return instances or found


def _coco_files(root: Path) -> list[tuple[Path, dict[str, Any]]]:
    return [(p, d) for p in _json_files(root) if _is_coco(d := _load(p))]


class Coco(DatasetFormat):
    name = "coco"
    description = "COCO instances JSON (annotations/*.json or a top-level .json) + images"
    scenarios = ("detection",)
    priority = 10

    def detect(self, root: Path) -> bool:
        return bool(_coco_files(root))

    def read(self, root: Path) -> ReadResult:
        files = _coco_files(root)
        if not files:
            raise DatasetImportError(
                f"{root.name}/ has no COCO JSON (a file with images, annotations and categories "
                "lists) in annotations/ or at the top level; add one or pick another format"
            )
        index = NameIndex(root)
        classes: list[str] = []
        items: list[RawItem] = []
        problems: list[Problem] = []
        for path, data in files:
            split = split_in_name(path.stem) if len(files) > 1 else None
            if split is None and len(files) > 1 and path.parent != root:
                split = split_word(path.parent.name)
            got, names = self._read_file(root, path, data, split, index, problems)
            items.extend(got)
            classes.extend(n for n in names if n not in classes)
        return ReadResult(drop_lone_train(items), "detection", classes, problems)

    def _read_file(
        self,
        root: Path,
        path: Path,
        data: dict[str, Any],
        split: Split | None,
        index: NameIndex,
        problems: list[Problem],
    ) -> tuple[list[RawItem], list[str]]:
        where = rel(path, root)
        cats: dict[Any, str] = {}
        for cat in data["categories"]:
            if isinstance(cat, dict) and "id" in cat and cat.get("name") is not None:
                cats[cat["id"]] = str(cat["name"])
        bases = _image_bases(root, path)
        images: dict[Any, tuple[Path, str]] = {}
        order: list[Any] = []
        for img in data["images"]:
            if not isinstance(img, dict) or "id" not in img or not img.get("file_name"):
                problems.append(
                    problem(
                        "bad_image_entry",
                        where,
                        f"image entry {img!r:.80} has no id or file_name; skipped",
                    )
                )
                continue
            ref = str(img["file_name"])
            found = resolve(ref, bases, index)
            images[img["id"]] = (found or bases[0] / ref, ref)
            order.append(img["id"])
        boxes: dict[Any, list[Box]] = {i: [] for i in images}
        crowd = 0
        for ann in data["annotations"]:
            if not isinstance(ann, dict):
                continue
            aid = ann.get("id", "?")
            if ann.get("image_id") not in images:
                problems.append(
                    problem(
                        "orphan_annotation",
                        where,
                        f"annotation {aid} names "
                        f"image id {ann.get('image_id')!r}, which is not in "
                        "images; skipped",
                    )
                )
                continue
            if ann.get("category_id") not in cats:
                problems.append(
                    problem(
                        "unknown_class",
                        where,
                        f"annotation {aid} has category "
                        f"id {ann.get('category_id')!r}, which is not in "
                        "categories; skipped",
                    )
                )
                continue
            if ann.get("iscrowd"):
                crowd += 1
                continue
            bbox = ann.get("bbox")
            try:
                x, y, w, h = (float(v) for v in bbox)  # type: ignore[union-attr]
            except (TypeError, ValueError):
                problems.append(
                    problem(
                        "bad_box",
                        where,
                        f"annotation {aid} has bbox {bbox!r}, not [x, y, width, height]; skipped",
                    )
                )
                continue
            boxes[ann["image_id"]].append(Box(cats[ann["category_id"]], x, y, x + w, y + h))
        if crowd:
            problems.append(
                problem(
                    "crowd_skipped",
                    where,
                    f"{crowd} crowd annotation(s) "
                    "(iscrowd=1) skipped: they mark regions, not objects",
                    "info",
                )
            )
        groups = {img["id"]: img.get("group") for img in data["images"] if isinstance(img, dict)}
        items = [
            RawItem(
                path=images[i][0],
                split=split,
                boxes=tuple(boxes[i]),
                group=str(groups[i]) if groups.get(i) is not None else None,
                ref=images[i][1],
            )
            for i in order
        ]
        return items, list(dict.fromkeys(cats.values()))

    def write(self, items: list[ExportItem], classes: list[str], scenario: str, dest: Path) -> None:
        """``images/<name>`` plus ``annotations/instances.json``, or one JSON per split
        (``instances_train.json``, ``instances_val.json``) when items have splits."""
        names = detection_classes(items, classes, scenario, "COCO")
        copy_images(items, dest / "images")
        (dest / "annotations").mkdir(parents=True, exist_ok=True)
        if any(it.split for it in items):
            for split in ("train", "val"):
                part = [it for it in items if (it.split or "train") == split]
                if part:
                    _dump(dest / "annotations" / f"instances_{split}.json", part, names)
        else:
            _dump(dest / "annotations" / "instances.json", items, names)


def _image_bases(root: Path, json_path: Path) -> list[Path]:
    """Folders ``file_name`` may be relative to, most specific first."""
    stem = json_path.stem
    for prefix in ("instances_", "_annotations."):
        stem = stem.removeprefix(prefix)
    bases = [json_path.parent, root / "images", root, root / stem, root / "images" / stem]
    if json_path.parent.name == "annotations":
        bases.insert(1, json_path.parent.parent / "images")
    return list(dict.fromkeys(bases))


def _dump(path: Path, items: list[ExportItem], names: list[str]) -> None:
    cat_id = {n: i + 1 for i, n in enumerate(names)}
    images: list[dict[str, Any]] = []
    anns: list[dict[str, Any]] = []
    for image_id, it in enumerate(items, start=1):
        entry: dict[str, Any] = {
            "id": image_id,
            "file_name": it.name,
            "width": it.width,
            "height": it.height,
        }
        if it.group is not None:
            entry["group"] = it.group  # not COCO, but tools ignore extra keys
        images.append(entry)
        for b in it.boxes or ():
            w, h = b.x2 - b.x1, b.y2 - b.y1
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": image_id,
                    "category_id": cat_id[b.label],
                    "bbox": [round(b.x1, 4), round(b.y1, 4), round(w, 4), round(h, 4)],
                    "area": round(max(w, 0.0) * max(h, 0.0), 4),
                    "iscrowd": 0,
                }
            )
    categories = [{"id": cat_id[n], "name": n, "supercategory": ""} for n in names]
    data = {"images": images, "annotations": anns, "categories": categories}
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
