"""YOLO txt label files (``class cx cy w h``, relative to the image), shared by the
``yolo`` and ``cvat_yolo`` layouts in ``yolo.py``: reading one into absolute-pixel boxes
(polygon lines become their bounding box; bad lines and unknown class ids are reported
and skipped), finding label files with no image, and writing them on export.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from autolearn.datasets.formats.base import Box, ExportItem, Problem, RawItem, Split
from autolearn.datasets.formats.common import copy_image, image_size, problem, rel


def parse_labels(
    label: Path, size: tuple[int, int] | None, names: list[str], root: Path, problems: list[Problem]
) -> tuple[Box, ...]:
    """Boxes of one label file in absolute pixels; bad lines are reported and skipped.
    Without an image size (missing or broken image) nothing can be converted: the
    validator reports the image itself."""
    where = rel(label, root)
    boxes: list[Box] = []
    text = label.read_text(encoding="utf-8", errors="replace")
    for n, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        try:
            cls = int(float(parts[0]))
            vals = [float(v) for v in parts[1:]]
        except ValueError:
            vals = []
        if len(vals) == 4:
            cx, cy, w, h = vals
            x1, y1, x2, y2 = cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2
        elif len(vals) >= 6 and len(vals) % 2 == 0:  # a polygon: its bounding box
            x1, x2 = min(vals[0::2]), max(vals[0::2])
            y1, y2 = min(vals[1::2]), max(vals[1::2])
        else:
            problems.append(
                problem(
                    "bad_line",
                    where,
                    f"line {n} {line.strip()!r:.60} is not 'class cx cy w h'; skipped",
                )
            )
            continue
        if not 0 <= cls < len(names):
            problems.append(
                problem(
                    "unknown_class",
                    where,
                    f"line {n} has class id {cls}; the "
                    f"class list has ids 0..{len(names) - 1}; skipped",
                )
            )
            continue
        if size is not None:
            w_img, h_img = size
            boxes.append(Box(names[cls], x1 * w_img, y1 * h_img, x2 * w_img, y2 * h_img))
    return tuple(boxes)


def item_for(
    image: Path,
    label: Path,
    names: list[str],
    split: Split | None,
    root: Path,
    problems: list[Problem],
) -> RawItem:
    """The image with the boxes of its label file; no label file means a negative."""
    boxes = parse_labels(label, image_size(image), names, root, problems) if label.is_file() else ()
    return RawItem(path=image, split=split, boxes=boxes, ref=rel(image, root))


def find_orphans(
    label_dirs: set[Path], images: set[Path], root: Path, label_of: Callable[[Path], Path]
) -> list[Problem]:
    """Label files in ``label_dirs`` that no image maps to."""
    expected = {label_of(img) for img in images}
    orphans = [
        txt
        for d in sorted(label_dirs)
        if d.is_dir()
        for txt in sorted(d.glob("*.txt"))
        if txt not in expected and txt.name not in ("classes.txt", "obj.names")
    ]
    return [
        problem(
            "orphan_label", rel(txt, root), "label file with no image of the same name; ignored"
        )
        for txt in orphans
    ]


def write_labels(it: ExportItem, names: list[str], img_dir: Path, lbl_dir: Path) -> str:
    """Copy the image and write its label file (empty for a negative); returns the image's
    file name, renamed when another image already claimed its label file's stem."""
    name = it.name
    stem, ext = Path(name).stem, Path(name).suffix
    if (lbl_dir / f"{stem}.txt").exists():  # a.jpg then a.png: both would be a.txt
        name = f"{stem}_{ext.lstrip('.')}{ext}"
    img_dir.mkdir(parents=True, exist_ok=True)
    lbl_dir.mkdir(parents=True, exist_ok=True)
    copy_image(it.image, img_dir / name)
    idx = {n: i for i, n in enumerate(names)}
    lines = []
    for b in it.boxes or ():
        cx, cy = (b.x1 + b.x2) / 2 / it.width, (b.y1 + b.y2) / 2 / it.height
        w, h = (b.x2 - b.x1) / it.width, (b.y2 - b.y1) / it.height
        lines.append(f"{idx[b.label]} {cx:.8f} {cy:.8f} {w:.8f} {h:.8f}\n")
    (lbl_dir / f"{Path(name).stem}.txt").write_text("".join(lines), encoding="utf-8")
    return name
