"""Pascal VOC: one XML per image (``<object><name>`` + ``<bndbox>`` in pixels).

Layout::

    root/Annotations/*.xml  or  root/annotations/*.xml
    root/JPEGImages/        or  root/images/
    root/ImageSets/Main/{train,val,trainval,test}.txt   optional fixed split (test → val)
    root/splits/{train,test,val}*.csv                    optional split by ``filename``
                                                          column (raccoon's layout)
    root/labelmap.txt                                    optional class order (CVAT's)

Coordinates pass through as written (VOC's 1-based pixels are not shifted);
``difficult``/``truncated`` flags are ignored. ``<filename>`` is trusted first; when
it names no file, the XML's own stem with an image extension is used. Images with no
XML are negatives. Unparsable XML, objects without a name or a numeric box, and
images outside every split list are reported as problems.
"""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.sax.saxutils import escape

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
    walk_images,
)
from autolearn.datasets.formats.common import (
    copy_images,
    detection_classes,
    drop_lone_train,
    find_with_stem,
    num,
    problem,
    rel,
    split_in_name,
    split_word,
)

_ANN_DIRS = ("Annotations", "annotations")
_IMG_DIRS = ("JPEGImages", "images")


def _first_dir(root: Path, names: tuple[str, ...]) -> Path | None:
    return next((root / n for n in names if (root / n).is_dir()), None)


def _xml_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.xml") if p.is_file() and not is_hidden(p.name))


class Voc(DatasetFormat):
    name = "voc"
    description = "Pascal VOC XML in Annotations/ + images in JPEGImages/ (or images/)"
    scenarios = ("detection",)
    priority = 20

    def detect(self, root: Path) -> bool:
        ann = _first_dir(root, _ANN_DIRS)
        return ann is not None and any(True for _ in ann.glob("*.xml"))

    def read(self, root: Path) -> ReadResult:
        ann_dir = _first_dir(root, _ANN_DIRS)
        if ann_dir is None or not _xml_files(ann_dir):
            raise DatasetImportError(
                f"{root.name}/ has no Annotations/ folder of .xml files; "
                "put one VOC XML per image there"
            )
        img_dir = _first_dir(root, _IMG_DIRS) or root
        problems: list[Problem] = []
        splits = _read_splits(root, problems)
        items: list[RawItem] = []
        keys: list[tuple[str, ...]] = []  # what a split list may call each item
        for xml in _xml_files(ann_dir):
            item = _read_xml(root, xml, (img_dir, ann_dir), problems)
            if item is not None:
                items.append(item)
                keys.append((xml.stem, item.path.name, item.path.stem))
        covered = {it.path for it in items}
        negatives = [p for p in walk_images(img_dir) if p not in covered]
        for path in negatives:
            items.append(RawItem(path=path, boxes=(), ref=rel(path, root)))
            keys.append((path.stem, path.name))
        if negatives:
            problems.append(
                problem(
                    "no_annotation",
                    rel(img_dir, root),
                    f"{len(negatives)} image(s) have no XML; kept as negatives (no objects)",
                    "info",
                )
            )
        if splits:
            items = _apply_splits(root, items, keys, splits, problems)
        labelmap = _read_labelmap(root / "labelmap.txt")
        return ReadResult(drop_lone_train(items), "detection", labelmap, problems)

    def write(self, items: list[ExportItem], classes: list[str], scenario: str, dest: Path) -> None:
        """``JPEGImages/``, ``Annotations/<stem>.xml``, ``labelmap.txt`` (class order) and,
        when items have splits, ``ImageSets/Main/{train,val}.txt``."""
        names = detection_classes(items, classes, scenario, "VOC")
        copy_images(items, dest / "JPEGImages")
        (dest / "Annotations").mkdir(parents=True, exist_ok=True)
        ids: dict[str, list[str]] = {"train": [], "val": []}
        used: set[str] = set()
        for it in items:
            stem = Path(it.name).stem
            if stem in used:  # a.jpg and a.png: keep the XML names unique
                stem = it.name.replace(".", "_")
            used.add(stem)
            (dest / "Annotations" / f"{stem}.xml").write_text(_xml_text(it), encoding="utf-8")
            ids[it.split or "train"].append(stem)
        if any(it.split for it in items):
            main = dest / "ImageSets" / "Main"
            main.mkdir(parents=True, exist_ok=True)
            for split, stems in ids.items():
                (main / f"{split}.txt").write_text("".join(f"{s}\n" for s in stems))
        lines = ["# label:color_rgb:parts:actions"]
        lines += [f"{c}:::" for c in names]
        (dest / "labelmap.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _read_xml(
    root: Path, xml: Path, img_dirs: tuple[Path, Path], problems: list[Problem]
) -> RawItem | None:
    where = rel(xml, root)
    try:
        tree = ET.parse(xml)
    except (ET.ParseError, OSError) as exc:
        problems.append(problem("bad_xml", where, f"cannot parse: {exc}; file skipped", "error"))
        return None
    node = tree.getroot()
    ref = (node.findtext("filename") or "").strip()
    named = [d / ref for d in img_dirs if ref and (d / ref).is_file()]
    by_stem = [p for d in img_dirs if (p := find_with_stem(d, xml.stem)) is not None]
    missing = img_dirs[0] / (ref or f"{xml.stem}.jpg")
    path = (named or by_stem or [missing])[0]
    boxes: list[Box] = []
    for i, obj in enumerate(node.iter("object")):
        label = (obj.findtext("name") or "").strip()
        bb = obj.find("bndbox")
        try:
            if not label or bb is None:
                raise ValueError("missing name or bndbox")
            coords = [float(bb.findtext(k) or "") for k in ("xmin", "ymin", "xmax", "ymax")]
        except ValueError:
            problems.append(
                problem(
                    "bad_box",
                    where,
                    f"object {i + 1} has no name or no numeric xmin/ymin/xmax/ymax; skipped",
                )
            )
            continue
        boxes.append(Box(label, *coords))
    return RawItem(path=path, boxes=tuple(boxes), ref=ref or xml.stem)


def _read_splits(root: Path, problems: list[Problem]) -> dict[str, Split]:
    """Image key (XML stem or image file name) → split, from ImageSets/Main or splits/*.csv.
    Validation wins when a key is listed in both."""
    found: dict[str, Split] = {}

    def add(key: str, split: Split) -> None:
        if found.get(key) != "val":
            found[key] = split

    main = root / "ImageSets" / "Main"
    for name in ("train", "trainval", "val", "test"):
        path = main / f"{name}.txt"
        split = split_word(name)
        if path.is_file() and split is not None:
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                if line.split():
                    add(line.split()[0], split)
    split_dir = root / "splits"
    if not found and split_dir.is_dir():
        for path in sorted(split_dir.glob("*.csv")):
            split = split_in_name(path.stem)
            if split is None:
                continue  # e.g. raccoon_labels.csv: all rows, no split
            with path.open(newline="", encoding="utf-8", errors="replace") as fh:
                reader = csv.DictReader(fh)
                col = next(
                    (
                        c
                        for c in reader.fieldnames or ()
                        if c.strip().lower() in ("filename", "file_name", "path", "image")
                    ),
                    None,
                )
                if col is None:
                    problems.append(
                        problem(
                            "bad_split_file",
                            rel(path, root),
                            "no filename column; split file ignored",
                        )
                    )
                    continue
                for row in reader:
                    if row.get(col):
                        add(Path(row[col].strip()).name, split)
    return found


def _apply_splits(
    root: Path,
    items: list[RawItem],
    keys: list[tuple[str, ...]],
    splits: dict[str, Split],
    problems: list[Problem],
) -> list[RawItem]:
    out: list[RawItem] = []
    unlisted = 0
    for it, names in zip(items, keys, strict=True):
        split = next((splits[k] for k in names if k in splits), None)
        if split is None:
            unlisted += 1
            split = "train"
        out.append(RawItem(path=it.path, split=split, boxes=it.boxes, ref=it.ref))
    if unlisted:
        problems.append(
            problem(
                "not_in_split", root.name, f"{unlisted} image(s) are in no split list; put in train"
            )
        )
    return out


def _read_labelmap(path: Path) -> list[str] | None:
    """Class order from CVAT's ``labelmap.txt`` (``name:color:parts:actions``)."""
    if not path.is_file():
        return None
    names = [
        line.split(":", 1)[0].strip()
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    names = [n for n in names if n and n != "background"]
    return names or None


def _xml_text(it: ExportItem) -> str:
    objects = "".join(
        "\t<object>\n"
        f"\t\t<name>{escape(b.label)}</name>\n"
        "\t\t<pose>Unspecified</pose>\n\t\t<truncated>0</truncated>\n"
        "\t\t<difficult>0</difficult>\n"
        "\t\t<bndbox>\n"
        f"\t\t\t<xmin>{num(b.x1)}</xmin>\n\t\t\t<ymin>{num(b.y1)}</ymin>\n"
        f"\t\t\t<xmax>{num(b.x2)}</xmax>\n\t\t\t<ymax>{num(b.y2)}</ymax>\n"
        "\t\t</bndbox>\n"
        "\t</object>\n"
        for b in it.boxes or ()
    )
    return (
        "<annotation>\n"
        "\t<folder>JPEGImages</folder>\n"
        f"\t<filename>{escape(it.name)}</filename>\n"
        f"\t<size>\n\t\t<width>{it.width}</width>\n\t\t<height>{it.height}</height>\n"
        "\t\t<depth>3</depth>\n\t</size>\n"
        "\t<segmented>0</segmented>\n"
        f"{objects}"
        "</annotation>\n"
    )
