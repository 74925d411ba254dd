"""Every format's writer output is detected as that format among all registered ones."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from autolearn.datasets.formats import FORMATS, detect_format
from autolearn.datasets.formats.base import Box, ExportItem

DETECTION = ("coco", "voc", "yolo", "cvat_yolo", "csv", "labelstudio")
CLASSIFICATION = ("imagefolder", "csv", "labelstudio")


def test_all_formats_registered() -> None:
    assert set(FORMATS) == {"coco", "csv", "cvat_yolo", "imagefolder", "labelstudio", "voc", "yolo"}
    for name in FORMATS:
        fmt = FORMATS.get(name)
        assert fmt.name == name and fmt.description and fmt.scenarios


def _items(tmp_path: Path, make_image: Callable[..., Path], detection: bool) -> list[ExportItem]:
    items = []
    for i, label in enumerate(("cat", "dog", "cat")):
        img = make_image(tmp_path / "src" / f"{i}.jpg", seed=i, size=(32, 24))
        boxes = (Box(label, 1.5, 2, 20.25, 22),) if detection else None
        items.append(
            ExportItem(
                img,
                f"{i}.jpg",
                32,
                24,
                None if detection else label,
                "val" if i else "train",
                boxes,
            )
        )
    return items


@pytest.mark.parametrize("name", DETECTION)
def test_detection_exports_detected(
    name: str, tmp_path: Path, make_image: Callable[..., Path]
) -> None:
    dest = tmp_path / "out"
    FORMATS.get(name).write(_items(tmp_path, make_image, True), ["cat", "dog"], "detection", dest)
    assert detect_format(dest) == name


@pytest.mark.parametrize("name", CLASSIFICATION)
def test_classification_exports_detected(
    name: str, tmp_path: Path, make_image: Callable[..., Path]
) -> None:
    dest = tmp_path / "out"
    items = _items(tmp_path, make_image, False)
    FORMATS.get(name).write(items, ["cat", "dog"], "classification", dest)
    assert detect_format(dest) == name
    result = FORMATS.get(name).read(dest)
    assert sorted((it.path.name, it.label, it.split) for it in result.items) == [
        ("0.jpg", "cat", "train"),
        ("1.jpg", "dog", "val"),
        ("2.jpg", "cat", "val"),
    ]
