"""YOLO labels in the Ultralytics (data.yaml) and CVAT "YOLO 1.1" layouts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from fmt_roundtrip import REAL, codes, content, roundtrip

from autolearn.datasets.formats import FORMATS, detect_format
from autolearn.datasets.formats.base import Box


@pytest.fixture
def ultra_root(tmp_path: Path, make_image: Callable[..., Path]) -> Path:
    root = tmp_path / "ultra"
    make_image(root / "images" / "train" / "a.jpg", seed=1, size=(40, 20))
    make_image(root / "images" / "train" / "neg.jpg", seed=2)
    make_image(root / "images" / "val" / "v.png", seed=3, size=(64, 32))
    labels = root / "labels"
    (labels / "train").mkdir(parents=True)
    (labels / "val").mkdir(parents=True)
    (labels / "train" / "a.txt").write_text(
        "0 0.5 0.5 0.5 0.5\n"
        "\n"
        "1 0.1 0.1 0.2 0.2 0.1 0.3\n"  # a polygon: its bounding box
        "7 0.5 0.5 0.1 0.1\n"  # unknown class id
        "0 0.5 oops 0.1\n"  # malformed
    )
    (labels / "train" / "lost.txt").write_text("0 0.5 0.5 0.1 0.1\n")  # orphan
    (labels / "val" / "v.txt").write_text("1 0.25 0.5 0.5 1.0\n")
    (root / "data.yaml").write_text(
        "path: /home/someone/datasets/ultra\n"  # another machine's path: ignored
        "train: images/train\nval: images/val\nnames:\n  0: cat\n  1: dog\n"
    )
    return root


def test_ultralytics_read(ultra_root: Path) -> None:
    result = FORMATS.get("yolo").read(ultra_root)
    assert result.scenario == "detection"
    assert result.classes == ["cat", "dog"]
    by_name = {it.path.name: it for it in result.items}
    a_boxes = by_name["a.jpg"].boxes
    assert a_boxes is not None and a_boxes[0] == Box("cat", 10, 5, 30, 15)
    assert [round(v, 6) for v in (a_boxes[1].x1, a_boxes[1].y1, a_boxes[1].x2, a_boxes[1].y2)] == [
        4,
        2,
        8,
        6,
    ]
    assert by_name["neg.jpg"].boxes == ()
    assert by_name["v.png"].boxes == (Box("dog", 0, 0, 32, 32),)
    assert {n: it.split for n, it in by_name.items()} == {
        "a.jpg": "train",
        "neg.jpg": "train",
        "v.png": "val",
    }
    assert codes(result) == ["bad_line", "orphan_label", "unknown_class"]
    assert detect_format(ultra_root) == "yolo"


def test_ultralytics_list_files_and_shared_val(
    tmp_path: Path, make_image: Callable[..., Path]
) -> None:
    for i in range(2):
        make_image(tmp_path / "images" / f"{i}.jpg", seed=i)
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "0.txt").write_text("0 0.5 0.5 0.5 0.5\n")
    (tmp_path / "train.txt").write_text("./images/0.jpg\n./images/1.jpg\n")
    (tmp_path / "data.yaml").write_text("train: train.txt\nval: images\nnames: [thing]\n")
    result = FORMATS.get("yolo").read(tmp_path)
    # val names the train images again (as coco128 does): no separate validation set
    assert [it.split for it in result.items] == [None, None]
    assert result.items[0].boxes == (Box("thing", 4, 4, 12, 12),)


def test_ultralytics_round_trip(ultra_root: Path, tmp_path: Path) -> None:
    first = FORMATS.get("yolo").read(ultra_root)
    second = roundtrip("yolo", first, tmp_path / "split")
    assert content(second) == content(first)
    assert second.classes == first.classes and second.problems == []
    first.items = [replace(it, split=None) for it in first.items]
    third = roundtrip("yolo", first, tmp_path / "flat")
    assert content(third) == content(first)


@pytest.fixture
def cvat_root(tmp_path: Path, make_image: Callable[..., Path]) -> Path:
    root = tmp_path / "cvat"
    data = root / "obj_train_data"
    make_image(data / "tray (1).jpg", seed=1, size=(50, 40))
    make_image(data / "tray (2).jpg", seed=2)
    make_image(data / "tray (3).jpg", seed=3)
    (data / "tray (1).txt").write_text("1 0.5 0.5 0.2 0.5\n0 0.1 0.1 0.2 0.2\n")
    (data / "tray (3).txt").write_text("9 0.5 0.5 0.2 0.2\n")
    (data / "tray (4).txt").write_text("0 0.5 0.5 0.2 0.2\n")  # orphan
    (root / "obj.names").write_text("Plate\nCup\n")
    (root / "obj.data").write_text(
        "classes = 2\ntrain = data/train.txt\nnames = data/obj.names\nbackup = backup/\n"
    )
    (root / "train.txt").write_text(
        "".join(f"data/obj_train_data/tray ({i}).jpg\n" for i in (1, 2, 3))
    )
    return root


def test_cvat_read(cvat_root: Path) -> None:
    result = FORMATS.get("cvat_yolo").read(cvat_root)
    assert result.classes == ["Plate", "Cup"]
    by_name = {it.path.name: it for it in result.items}
    assert by_name["tray (1).jpg"].boxes == (Box("Cup", 20, 10, 30, 30), Box("Plate", 0, 0, 10, 8))
    assert by_name["tray (2).jpg"].boxes == ()
    assert by_name["tray (3).jpg"].boxes == ()
    assert all(it.split is None for it in result.items)  # train only: no fixed validation set
    assert codes(result) == ["orphan_label", "unknown_class"]
    assert detect_format(cvat_root) == "cvat_yolo"


def test_cvat_valid_subset_and_round_trip(cvat_root: Path, tmp_path: Path) -> None:
    first = FORMATS.get("cvat_yolo").read(cvat_root)
    first.items = [
        replace(it, split="val" if n == 0 else "train") for n, it in enumerate(first.items)
    ]
    second = roundtrip("cvat_yolo", first, tmp_path / "out")
    assert content(second) == content(first)
    out = tmp_path / "out"
    assert (out / "valid.txt").read_text() == "data/obj_valid_data/tray (1).jpg\n"
    assert "valid = data/valid.txt" in (out / "obj.data").read_text()
    assert second.classes == ["Plate", "Cup"] and second.problems == []


def test_cvat_without_lists(cvat_root: Path) -> None:
    (cvat_root / "obj.data").unlink()
    (cvat_root / "train.txt").unlink()
    (cvat_root / "obj_valid_data").mkdir()
    for name in ("tray (1).jpg", "tray (1).txt"):
        (cvat_root / "obj_train_data" / name).rename(cvat_root / "obj_valid_data" / name)
    result = FORMATS.get("cvat_yolo").read(cvat_root)
    splits = {it.path.name: it.split for it in result.items}
    assert splits == {"tray (1).jpg": "val", "tray (2).jpg": "train", "tray (3).jpg": "train"}


@pytest.mark.slow
def test_real_mealtray() -> None:
    root = REAL / "mealtray"
    if not root.is_dir():
        pytest.skip(f"{root} is not here")
    assert detect_format(root) == "cvat_yolo"
    result = FORMATS.get("cvat_yolo").read(root)
    assert len(result.items) == 487
    assert sum(len(it.boxes or ()) for it in result.items) == 1647
    counts = Counter(b.label for it in result.items for b in it.boxes or ())
    assert counts["Plate"] == 457 and counts["Cheese"] == 25
    assert all(it.path.is_file() for it in result.items)
    assert result.problems == []
