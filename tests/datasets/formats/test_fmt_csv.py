"""CSV label tables: classification, detection (one row per box), raccoon's columns."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fmt_roundtrip import codes, content, roundtrip

from autolearn.datasets.formats import FORMATS, detect_format
from autolearn.datasets.formats.base import Box, DatasetImportError


@pytest.fixture
def cls_root(tmp_path: Path, make_image: Callable[..., Path]) -> Path:
    root = tmp_path / "cls"
    for i in range(4):
        make_image(root / "pics" / f"{i}.png", seed=i)
    (root / "labels.csv").write_text(
        "path,label,split,group\n"
        "pics/0.png,cat,train,g1\n"
        "pics/1.png,dog,val,g2\n"
        "pics/2.png,cat,test,\n"
        "pics/3.png,,train,\n"  # no label: skipped
        "pics/0.png,dog,train,g1\n"  # a second class for 0.png: first kept
    )
    return root


def test_classification(cls_root: Path) -> None:
    result = FORMATS.get("csv").read(cls_root)
    assert result.scenario == "classification"
    rows = [(it.path.name, it.label, it.split, it.group) for it in result.items]
    assert rows == [
        ("0.png", "cat", "train", "g1"),
        ("1.png", "dog", "val", "g2"),
        ("2.png", "cat", "val", None),
    ]
    assert all(it.boxes is None and it.path.is_file() for it in result.items)
    assert codes(result) == ["bad_row", "conflicting_label"]
    assert detect_format(cls_root) == "csv"


@pytest.fixture
def det_root(tmp_path: Path, make_image: Callable[..., Path]) -> Path:
    root = tmp_path / "det"
    for name in ("a.jpg", "b.jpg", "neg.jpg"):
        make_image(root / "images" / name, seed=len(name) + ord(name[0]))
    (root / "boxes.csv").write_text(
        "path,xmin,ymin,xmax,ymax,label\n"
        "a.jpg,1,2,10,12,cat\n"
        "a.jpg,3.25,4,8,9.5,dog\n"
        "b.jpg,0,0,5,5,cat\n"
        "b.jpg,x,0,5,5,cat\n"  # not a number: skipped
        "neg.jpg,,,,,\n"  # a negative
    )
    return root


def test_detection(det_root: Path) -> None:
    result = FORMATS.get("csv").read(det_root)
    assert result.scenario == "detection"
    by_name = {it.path.name: it for it in result.items}
    assert by_name["a.jpg"].boxes == (Box("cat", 1, 2, 10, 12), Box("dog", 3.25, 4, 8, 9.5))
    assert by_name["b.jpg"].boxes == (Box("cat", 0, 0, 5, 5),)
    assert by_name["neg.jpg"].boxes == ()
    assert codes(result) == ["bad_row"]


def test_raccoon_columns(tmp_path: Path, make_image: Callable[..., Path]) -> None:
    make_image(tmp_path / "images" / "r-1.jpg")
    (tmp_path / "raccoon_labels.csv").write_text(
        "filename,width,height,class,xmin,ymin,xmax,ymax\nr-1.jpg,16,16,raccoon,1,2,3,4\n"
    )
    result = FORMATS.get("csv").read(tmp_path)
    assert result.scenario == "detection"
    assert [it.boxes for it in result.items] == [(Box("raccoon", 1, 2, 3, 4),)]
    assert result.items[0].path == tmp_path / "images" / "r-1.jpg"


def test_split_files(tmp_path: Path, make_image: Callable[..., Path]) -> None:
    make_image(tmp_path / "a.png", seed=1)
    make_image(tmp_path / "b.png", seed=2)
    (tmp_path / "train.csv").write_text("path,label\na.png,cat\n")
    (tmp_path / "val.csv").write_text("path,label\nb.png,dog\n")
    result = FORMATS.get("csv").read(tmp_path)
    assert [(it.label, it.split) for it in result.items] == [("cat", "train"), ("dog", "val")]


def test_several_unnamed_csvs_refused(tmp_path: Path) -> None:
    (tmp_path / "one.csv").write_text("path,label\n")
    (tmp_path / "two.csv").write_text("path,label\n")
    with pytest.raises(DatasetImportError, match="several label CSVs"):
        FORMATS.get("csv").read(tmp_path)


def test_not_a_label_csv(tmp_path: Path) -> None:
    (tmp_path / "notes.csv").write_text("name,comment\n")
    assert not FORMATS.get("csv").detect(tmp_path)


def test_round_trips(cls_root: Path, det_root: Path, tmp_path: Path) -> None:
    first = FORMATS.get("csv").read(cls_root)
    assert content(roundtrip("csv", first, tmp_path / "out_cls")) == content(first)
    first = FORMATS.get("csv").read(det_root)
    second = roundtrip("csv", first, tmp_path / "out_det")
    assert content(second) == content(first) and second.problems == []
