"""CSV label tables beside the images.

Accepted headers (case-insensitive, any column order, extra columns ignored)::

    path,label[,split][,group]                          classification
    path,xmin,ymin,xmax,ymax,label[,split][,group]      detection, one row per box
    filename,width,height,class,xmin,ymin,xmax,ymax     raccoon / TF object-detection CSVs

``path`` may also be called ``filename``/``file``/``image``; ``label`` may be ``class``.
A detection row with empty box cells is a negative image. Paths are resolved against
the CSV's folder, ``images/``, then by file name anywhere under the root. Several CSV
files at the top level are splits when their names say so (``train.csv``, ``val.csv``).

Problems: rows with non-numeric boxes or no label (skipped), unknown split values
(row kept without a split), an image given two different classes (first kept).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Literal

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
    drop_lone_train,
    num,
    problem,
    rel,
    resolve,
    split_in_name,
    split_word,
)

_PATH_COLS = ("path", "filename", "file_name", "file", "image", "image_path")
_LABEL_COLS = ("label", "class", "category", "class_name")
_BOX_COLS = ("xmin", "ymin", "xmax", "ymax")

Scenario = Literal["classification", "detection"]


def _column(header: list[str], names: tuple[str, ...]) -> str | None:
    low = {h.strip().lower(): h for h in header}
    return next((low[n] for n in names if n in low), None)


def _header(path: Path) -> list[str]:
    try:
        with path.open(newline="", encoding="utf-8-sig", errors="replace") as fh:
            return next(csv.reader(fh), [])
    except OSError:
        return []


def _csv_files(root: Path) -> list[Path]:
    """Top-level CSVs whose header has a path and a label column."""
    return [
        p
        for p in sorted(root.glob("*.csv"))
        if p.is_file()
        and not is_hidden(p.name)
        and _column(h := _header(p), _PATH_COLS)
        and _column(h, _LABEL_COLS)
    ]


class _Rows:
    """Rows collected per image, in first-seen order."""

    def __init__(self) -> None:
        self.order: list[Path] = []
        self.refs: dict[Path, str] = {}
        self.labels: dict[Path, str | None] = {}
        self.boxes: dict[Path, list[Box]] = {}
        self.splits: dict[Path, Split | None] = {}
        self.groups: dict[Path, str | None] = {}

    def add(self, path: Path, ref: str, split: Split | None, group: str | None) -> None:
        if path not in self.refs:
            self.order.append(path)
            self.refs[path] = ref
            self.labels[path] = None
            self.boxes[path] = []
            self.splits[path] = split
            self.groups[path] = group


class Csv(DatasetFormat):
    name = "csv"
    description = "CSV: path,label (classification) or path,xmin,ymin,xmax,ymax,label"
    scenarios = ("classification", "detection")
    priority = 40

    def detect(self, root: Path) -> bool:
        return bool(_csv_files(root))

    def read(self, root: Path) -> ReadResult:
        files = _csv_files(root)
        if not files:
            raise DatasetImportError(
                f"{root.name}/ has no CSV with a path (or filename) and a label (or class) "
                "column at the top level"
            )
        if len(files) > 1 and any(split_in_name(p.stem) is None for p in files):
            names = ", ".join(p.name for p in files)
            raise DatasetImportError(
                f"{root.name}/ has several label CSVs ({names}); keep one, or name them "
                "train.csv and val.csv"
            )
        detection = all(_column(_header(p), (b,)) for p in files for b in _BOX_COLS)
        rows = _Rows()
        problems: list[Problem] = []
        index = NameIndex(root)
        for path in files:
            default = split_in_name(path.stem) if len(files) > 1 else None
            _read_file(root, path, default, detection, index, rows, problems)
        items = [
            RawItem(
                path=p,
                label=None if detection else rows.labels[p],
                split=rows.splits[p],
                boxes=tuple(rows.boxes[p]) if detection else None,
                group=rows.groups[p],
                ref=rows.refs[p],
            )
            for p in rows.order
            if detection or rows.labels[p] is not None
        ]
        scenario: Scenario = "detection" if detection else "classification"
        return ReadResult(drop_lone_train(items), scenario, None, problems)

    def write(self, items: list[ExportItem], classes: list[str], scenario: str, dest: Path) -> None:
        """``images/<name>`` and ``labels.csv`` with ``path`` relative to ``dest``; the
        ``split``/``group`` columns only when some item has one."""
        copy_images(items, dest / "images")
        detection = scenario == "detection"
        header = ["path", *(_BOX_COLS if detection else ()), "label"]
        with_split = any(it.split for it in items)
        with_group = any(it.group is not None for it in items)
        header += ["split"] * with_split + ["group"] * with_group
        with (dest / "labels.csv").open("w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh)
            out.writerow(header)
            for it in items:
                tail = [it.split or ""] * with_split + [it.group or ""] * with_group
                ref = f"images/{it.name}"
                if not detection:
                    out.writerow([ref, it.label or "", *tail])
                elif not it.boxes:
                    out.writerow([ref, "", "", "", "", "", *tail])
                for b in it.boxes or () if detection else ():
                    coords = [num(b.x1), num(b.y1), num(b.x2), num(b.y2)]
                    out.writerow([ref, *coords, b.label, *tail])


def _read_file(
    root: Path,
    path: Path,
    default: Split | None,
    detection: bool,
    index: NameIndex,
    rows: _Rows,
    problems: list[Problem],
) -> None:
    where = rel(path, root)
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as fh:
        reader = csv.DictReader(fh)
        header = list(reader.fieldnames or [])
        path_col = _column(header, _PATH_COLS)
        label_col = _column(header, _LABEL_COLS)
        split_col = _column(header, ("split", "subset"))
        group_col = _column(header, ("group",))
        box_cols = [_column(header, (b,)) or b for b in _BOX_COLS]
        bases = [path.parent, root, root / "images"]
        for n, row in enumerate(reader, start=2):
            ref = (row.get(path_col or "") or "").strip()
            if not ref:
                continue
            image = resolve(ref, bases, index) or path.parent / ref
            split = default
            raw_split = (row.get(split_col or "") or "").strip()
            if raw_split:
                split = split_word(raw_split)
                if split is None:
                    problems.append(
                        problem(
                            "bad_split",
                            where,
                            f"row {n}: split {raw_split!r} "
                            "is not train/val/test; row kept without a split",
                        )
                    )
            group = (row.get(group_col or "") or "").strip() or None
            rows.add(image, ref, split, group)
            label = (row.get(label_col or "") or "").strip()
            if detection:
                cells = [(row.get(c) or "").strip() for c in box_cols]
                if not label and not any(cells):
                    continue  # a negative image
                try:
                    if not label:
                        raise ValueError
                    x1, y1, x2, y2 = (float(c) for c in cells)
                except ValueError:
                    problems.append(
                        problem(
                            "bad_row",
                            where,
                            f"row {n} needs a label and numeric xmin, ymin, xmax, ymax; skipped",
                        )
                    )
                    continue
                rows.boxes[image].append(Box(label, x1, y1, x2, y2))
            elif not label:
                problems.append(problem("bad_row", where, f"row {n} has no label; skipped"))
            elif rows.labels[image] not in (None, label):
                problems.append(
                    problem(
                        "conflicting_label",
                        where,
                        f"row {n} gives {ref} class "
                        f"{label!r}, an earlier row {rows.labels[image]!r}; "
                        "kept the first",
                    )
                )
            else:
                rows.labels[image] = label
