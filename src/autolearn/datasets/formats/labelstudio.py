"""Label Studio JSON export: a list of tasks beside the images.

Each task has ``data.image`` (``/data/upload/1/3f2a9c1b-cat.jpg``,
``/data/local-files/?d=photos/cat.jpg``, a URL or a relative path) and
``annotations[].result[]``. The image is found relative to the root, then by file
name anywhere under it (also without the 8-hex-digit prefix Label Studio puts on
uploads). Results of type ``rectanglelabels`` (``x``, ``y``, ``width``, ``height`` in
percent of ``original_width``/``original_height``) make a detection set; ``choices``
make a classification set. The first annotation that was not cancelled is used.

Problems: tasks with no usable annotation are skipped (counted), rotated rectangles
are replaced by their axis-aligned bounding box, results of other types are skipped.
``data.split`` and ``data.group``, which this module writes, are read back.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlparse

from autolearn.datasets.formats.base import (
    Box,
    DatasetFormat,
    DatasetImportError,
    ExportItem,
    Problem,
    RawItem,
    ReadResult,
    is_hidden,
)
from autolearn.datasets.formats.common import (
    NameIndex,
    copy_images,
    drop_lone_train,
    image_size,
    problem,
    rel,
    resolve,
    split_word,
)

_UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{8}-")

Scenario = Literal["classification", "detection"]


def _load(path: Path) -> Any:
    try:
        with path.open("rb") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def _is_tasks(data: Any) -> bool:
    return (
        isinstance(data, list)
        and bool(data)
        and all(isinstance(t, dict) and isinstance(t.get("data"), dict) for t in data[:20])
        and any("annotations" in t for t in data[:20])
    )


def _task_files(root: Path) -> list[tuple[Path, list[dict[str, Any]]]]:
    files = sorted(p for p in root.glob("*.json") if p.is_file() and not is_hidden(p.name))
    return [(p, d) for p in files if _is_tasks(d := _load(p))]


def _image_ref(task: dict[str, Any]) -> str:
    data = task["data"]
    value = data.get("image") or next((v for v in data.values() if isinstance(v, str)), "")
    return str(value)


def _find(ref: str, root: Path, index: NameIndex) -> Path | None:
    parsed = urlparse(ref)
    local = parse_qs(parsed.query).get("d")  # /data/local-files/?d=folder/x.jpg
    path = unquote(local[0] if local else parsed.path)
    found = resolve(path, [root, root / "images"], index)
    if found is None:
        name = path.rsplit("/", 1)[-1]
        stripped = _UPLOAD_PREFIX.sub("", name)
        found = index.find(stripped) if stripped != name else None
    return found


class LabelStudio(DatasetFormat):
    name = "labelstudio"
    description = "Label Studio JSON export (rectanglelabels or choices) + images"
    scenarios = ("classification", "detection")
    priority = 30

    def detect(self, root: Path) -> bool:
        return bool(_task_files(root))

    def read(self, root: Path) -> ReadResult:
        files = _task_files(root)
        if not files:
            raise DatasetImportError(
                f"{root.name}/ has no Label Studio JSON export (a list of tasks with data "
                "and annotations) at the top level; export the project as JSON"
            )
        tasks = [(p, t) for p, data in files for t in data]
        detection = any(
            r.get("type") == "rectanglelabels" for _, t in tasks for r in _result(t) or ()
        )
        index = NameIndex(root)
        items: list[RawItem] = []
        problems: list[Problem] = []
        unlabelled = 0
        for path, task in tasks:
            result = _result(task)
            ref = _image_ref(task)
            if result is None or (not detection and not result):
                unlabelled += 1
                continue
            image = _find(ref, root, index) or root / ref.lstrip("/")
            where = f"{rel(path, root)} task {task.get('id', '?')}"
            data = task["data"]
            split = split_word(str(data.get("split") or ""))
            group = str(data["group"]) if data.get("group") is not None else None
            if detection:
                boxes = _boxes(result, image, where, problems)
                items.append(RawItem(image, split=split, boxes=boxes, group=group, ref=ref))
                continue
            labels = [
                c
                for r in result
                if r.get("type") == "choices"
                for c in r.get("value", {}).get("choices", [])
            ]
            if not labels:
                unlabelled += 1
                continue
            if len(set(labels)) > 1:
                problems.append(
                    problem("several_labels", where, f"choices {labels}; kept {labels[0]!r}")
                )
            items.append(RawItem(image, label=labels[0], split=split, group=group, ref=ref))
        if unlabelled:
            problems.append(
                problem(
                    "unlabelled",
                    rel(files[0][0], root),
                    f"{unlabelled} task(s) have no usable annotation; skipped",
                    "info",
                )
            )
        scenario: Scenario = "detection" if detection else "classification"
        return ReadResult(drop_lone_train(items), scenario, None, problems)

    def write(self, items: list[ExportItem], classes: list[str], scenario: str, dest: Path) -> None:
        """``images/<name>`` and ``tasks.json``: one task per image, ``data.image`` the
        relative path, one annotation of ``rectanglelabels`` or ``choices`` results."""
        copy_images(items, dest / "images")
        tasks = []
        for i, it in enumerate(items, start=1):
            data: dict[str, Any] = {"image": f"images/{it.name}"}
            if it.split:
                data["split"] = it.split
            if it.group is not None:
                data["group"] = it.group
            if scenario == "detection":
                result = [_rect(it, b, n) for n, b in enumerate(it.boxes or ())]
            else:
                result = (
                    [
                        {
                            "id": "c0",
                            "from_name": "choice",
                            "to_name": "image",
                            "type": "choices",
                            "value": {"choices": [it.label]},
                        }
                    ]
                    if it.label
                    else []
                )
            tasks.append({"id": i, "data": data, "annotations": [{"id": i, "result": result}]})
        text = json.dumps(tasks, indent=1, ensure_ascii=False)
        (dest / "tasks.json").write_text(text, encoding="utf-8")


def _result(task: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Results of the first annotation not cancelled; ``None`` when there is none."""
    for ann in task.get("annotations") or ():
        if isinstance(ann, dict) and not ann.get("was_cancelled"):
            return [r for r in ann.get("result") or () if isinstance(r, dict)]
    return None


def _boxes(
    result: list[dict[str, Any]], image: Path, where: str, problems: list[Problem]
) -> tuple[Box, ...]:
    boxes: list[Box] = []
    size = None
    for r in result:
        if r.get("type") != "rectanglelabels":
            problems.append(
                problem(
                    "skipped_result",
                    where,
                    f"result of type {r.get('type')!r} is not a rectangle; skipped",
                    "info",
                )
            )
            continue
        v = r.get("value") or {}
        width, height = r.get("original_width"), r.get("original_height")
        if not width or not height:
            size = size or image_size(image)
            if size is None:
                continue  # the validator reports the missing image
            width, height = size
        try:
            x, y, w, h = (float(v[k]) for k in ("x", "y", "width", "height"))
            label = str(v["rectanglelabels"][0])
        except (KeyError, IndexError, TypeError, ValueError):
            problems.append(
                problem(
                    "bad_box",
                    where,
                    f"rectangle {r.get('id', '?')} lacks x/y/width/height or a label; skipped",
                )
            )
            continue
        corners = [(x, y), (x + w, y), (x, y + h), (x + w, y + h)]
        angle = float(v.get("rotation") or 0.0)
        if angle:
            problems.append(
                problem(
                    "rotated_box",
                    where,
                    f"rectangle {r.get('id', '?')} is rotated {angle:g}°; its bounding box is used",
                    "info",
                )
            )
            corners = _rotate(corners, x, y, angle, float(width), float(height))
        xs = [cx * float(width) / 100 for cx, _ in corners]
        ys = [cy * float(height) / 100 for _, cy in corners]
        boxes.append(Box(label, min(xs), min(ys), max(xs), max(ys)))
    return tuple(boxes)


def _rotate(
    corners: list[tuple[float, float]], ox: float, oy: float, angle: float, w: float, h: float
) -> list[tuple[float, float]]:
    """Turn percent corners about the top-left corner (Label Studio's pivot) in pixels."""
    cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    out = []
    for px, py in corners:
        dx, dy = (px - ox) * w / 100, (py - oy) * h / 100
        rx, ry = ox * w / 100 + dx * cos - dy * sin, oy * h / 100 + dx * sin + dy * cos
        out.append((rx * 100 / w, ry * 100 / h))
    return out


def _rect(it: ExportItem, b: Box, n: int) -> dict[str, Any]:
    w, h = it.width, it.height
    return {
        "id": f"r{n}",
        "from_name": "label",
        "to_name": "image",
        "type": "rectanglelabels",
        "original_width": w,
        "original_height": h,
        "image_rotation": 0,
        "value": {
            "x": round(b.x1 / w * 100, 8),
            "y": round(b.y1 / h * 100, 8),
            "width": round((b.x2 - b.x1) / w * 100, 8),
            "height": round((b.y2 - b.y1) / h * 100, 8),
            "rotation": 0,
            "rectanglelabels": [b.label],
        },
    }
