"""COCO instances JSON: boxes, declared class order, negatives, problems, splits, round trip."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fmt_roundtrip import codes, content, roundtrip

from autolearn.datasets.formats import FORMATS, detect_format
from autolearn.datasets.formats.base import Box, DatasetError, DatasetImportError, ExportItem


def _coco(images: list[tuple[int, str]], anns: list[tuple[int, int, list[float]]]) -> dict:
    return {
        "images": [{"id": i, "file_name": f, "width": 32, "height": 24} for i, f in images],
        "annotations": [
            {"id": n, "image_id": img, "category_id": cat, "bbox": bbox, "iscrowd": 0}
            for n, (img, cat, bbox) in enumerate(anns, start=1)
        ],
        "categories": [{"id": 3, "name": "cat"}, {"id": 1, "name": "dog"}],
    }


@pytest.fixture
def coco_root(tmp_path: Path, make_image: Callable[..., Path]) -> Path:
    root = tmp_path / "coco"
    for seed, name in enumerate(("a.jpg", "b.jpg", "c.jpg")):
        make_image(root / "images" / name, seed=seed, size=(32, 24))
    data = _coco(
        [(1, "a.jpg"), (2, "b.jpg"), (3, "c.jpg"), (4, "gone.jpg")],
        [
            (1, 3, [1, 2, 10, 5]),
            (2, 1, [0.5, 0.25, 8, 8]),
            (2, 3, [4, 4, 2, 2]),
            (99, 3, [0, 0, 1, 1]),  # orphan
            (1, 7, [0, 0, 1, 1]),  # unknown category
        ],
    )
    (root / "annotations").mkdir()
    (root / "annotations" / "instances_default.json").write_text(json.dumps(data))
    return root


def test_read_boxes_classes_negatives_and_problems(coco_root: Path) -> None:
    result = FORMATS.get("coco").read(coco_root)
    assert result.scenario == "detection"
    assert result.classes == ["cat", "dog"]  # declared order, not sorted
    by_name = {it.path.name: it for it in result.items}
    assert by_name["a.jpg"].boxes == (Box("cat", 1, 2, 11, 7),)
    assert by_name["b.jpg"].boxes == (Box("dog", 0.5, 0.25, 8.5, 8.25), Box("cat", 4, 4, 6, 6))
    assert by_name["c.jpg"].boxes == ()
    gone = by_name["gone.jpg"]
    assert not gone.path.exists() and gone.ref == "gone.jpg"
    assert all(it.split is None for it in result.items)
    assert codes(result) == ["orphan_annotation", "unknown_class"]
    assert detect_format(coco_root) == "coco"


def test_top_level_json_and_crowd(tmp_path: Path, make_image: Callable[..., Path]) -> None:
    make_image(tmp_path / "x.png", size=(20, 20))
    data = _coco([(1, "x.png")], [(1, 1, [1, 1, 5, 5])])
    data["annotations"].append(
        {"id": 9, "image_id": 1, "category_id": 1, "bbox": [0, 0, 9, 9], "iscrowd": 1}
    )
    (tmp_path / "labels.json").write_text(json.dumps(data))
    result = FORMATS.get("coco").read(tmp_path)
    assert [it.boxes for it in result.items] == [(Box("dog", 1, 1, 6, 6),)]
    assert codes(result) == ["crowd_skipped"]
    assert detect_format(tmp_path) == "coco"


def test_json_per_split(tmp_path: Path, make_image: Callable[..., Path]) -> None:
    for seed, name in enumerate(("t.jpg", "v.jpg")):
        make_image(tmp_path / "images" / name, seed=seed)
    (tmp_path / "annotations").mkdir()
    for split, name in (("train", "t.jpg"), ("val", "v.jpg")):
        data = _coco([(1, name)], [(1, 3, [1, 1, 2, 2])])
        (tmp_path / "annotations" / f"instances_{split}2017.json").write_text(json.dumps(data))
    result = FORMATS.get("coco").read(tmp_path)
    assert {it.path.name: it.split for it in result.items} == {"t.jpg": "train", "v.jpg": "val"}


def test_not_coco(tmp_path: Path) -> None:
    (tmp_path / "other.json").write_text(json.dumps({"images": []}))
    assert not FORMATS.get("coco").detect(tmp_path)
    with pytest.raises(DatasetImportError, match="no COCO JSON"):
        FORMATS.get("coco").read(tmp_path)


def _without_missing(root: Path) -> Any:
    result = FORMATS.get("coco").read(root)
    result.items = [it for it in result.items if it.path.exists()]
    return result


def test_round_trip(coco_root: Path, tmp_path: Path) -> None:
    first = _without_missing(coco_root)
    second = roundtrip("coco", first, tmp_path / "out")
    assert content(second) == content(first)
    assert second.classes == ["cat", "dog"]
    assert second.problems == []


def test_round_trip_with_splits_and_groups(coco_root: Path, tmp_path: Path) -> None:
    first = _without_missing(coco_root)
    first.items = [
        replace(it, split="val" if n == 0 else "train", group=f"g{n % 2}")
        for n, it in enumerate(first.items)
    ]
    second = roundtrip("coco", first, tmp_path / "out")
    assert content(second) == content(first)
    assert sorted(p.name for p in (tmp_path / "out" / "annotations").iterdir()) == [
        "instances_train.json",
        "instances_val.json",
    ]


def test_write_refuses_classification(tmp_path: Path, make_image: Callable[..., Path]) -> None:
    img = make_image(tmp_path / "a.png")
    item = ExportItem(image=img, name="a.png", width=16, height=16, label="cat")
    with pytest.raises(DatasetError, match="classification"):
        FORMATS.get("coco").write([item], ["cat"], "classification", tmp_path / "out")
