"""Label Studio JSON export: rectangles in percent, choices, upload names, round trip."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fmt_roundtrip import codes, content, roundtrip

from autolearn.datasets.formats import FORMATS, detect_format
from autolearn.datasets.formats.base import Box


def _rect(x: float, y: float, w: float, h: float, label: str, **extra: Any) -> dict[str, Any]:
    value = {"x": x, "y": y, "width": w, "height": h, "rotation": 0, "rectanglelabels": [label]}
    value.update(extra)
    return {
        "type": "rectanglelabels",
        "original_width": 40,
        "original_height": 20,
        "value": value,
    }


@pytest.fixture
def det_root(tmp_path: Path, make_image: Callable[..., Path]) -> Path:
    root = tmp_path / "ls"
    make_image(root / "images" / "cat.jpg", seed=1, size=(40, 20))
    make_image(root / "images" / "neg.jpg", seed=2, size=(40, 20))
    make_image(root / "images" / "turned.jpg", seed=3, size=(40, 20))
    tasks = [
        {
            "id": 1,
            "data": {"image": "/data/upload/1/3f2a9c1b-cat.jpg"},
            "annotations": [
                {"was_cancelled": True, "result": []},
                {"result": [_rect(25, 50, 50, 25, "cat"), {"type": "textarea", "value": {}}]},
            ],
        },
        {
            "id": 2,
            "data": {"image": "/data/local-files/?d=images%2Fneg.jpg"},
            "annotations": [{"result": []}],
        },
        {
            "id": 3,
            "data": {"image": "s3://bucket/turned.jpg"},
            "annotations": [{"result": [_rect(50, 0, 25, 50, "dog", rotation=90)]}],
        },
        {"id": 4, "data": {"image": "/data/upload/1/unlabelled.jpg"}, "annotations": []},
    ]
    (root / "project-1-at-2024.json").write_text(json.dumps(tasks))
    return root


def test_detection(det_root: Path) -> None:
    result = FORMATS.get("labelstudio").read(det_root)
    assert result.scenario == "detection"
    by_name = {it.path.name: it for it in result.items}
    assert set(by_name) == {"cat.jpg", "neg.jpg", "turned.jpg"}
    assert by_name["cat.jpg"].boxes == (Box("cat", 10, 10, 30, 15),)
    assert by_name["neg.jpg"].boxes == ()
    # 10x10 px rotated 90° about its top-left corner (20, 0): x from 10 to 20
    (turned,) = by_name["turned.jpg"].boxes or ()
    assert [round(v, 6) for v in (turned.x1, turned.y1, turned.x2, turned.y2)] == [10, 0, 20, 10]
    assert codes(result) == ["rotated_box", "skipped_result", "unlabelled"]
    assert detect_format(det_root) == "labelstudio"


def test_classification(tmp_path: Path, make_image: Callable[..., Path]) -> None:
    make_image(tmp_path / "a.png", seed=1)
    make_image(tmp_path / "b.png", seed=2)
    choice = {"type": "choices", "value": {"choices": ["ant"]}}
    tasks = [
        {"id": 1, "data": {"image": "a.png"}, "annotations": [{"result": [choice]}]},
        {"id": 2, "data": {"image": "b.png"}, "annotations": [{"result": []}]},
    ]
    (tmp_path / "export.json").write_text(json.dumps(tasks))
    result = FORMATS.get("labelstudio").read(tmp_path)
    assert result.scenario == "classification"
    assert [(it.path.name, it.label) for it in result.items] == [("a.png", "ant")]
    assert codes(result) == ["unlabelled"]
    second = roundtrip("labelstudio", result, tmp_path / "out")
    assert content(second) == content(result)


def test_round_trip(det_root: Path, tmp_path: Path) -> None:
    first = FORMATS.get("labelstudio").read(det_root)
    first.items = [
        replace(it, split="val" if n == 0 else "train", group=str(n))
        for n, it in enumerate(first.items)
    ]
    second = roundtrip("labelstudio", first, tmp_path / "out")
    assert content(second) == content(first)
    assert second.problems == []
