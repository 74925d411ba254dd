"""Pascal VOC: XML boxes, ImageSets and CSV splits, file-name fallback, problems, round trip."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from fmt_roundtrip import REAL, codes, content, roundtrip

from autolearn.datasets.formats import FORMATS, detect_format
from autolearn.datasets.formats.base import Box


def _xml(filename: str, objects: list[tuple[str, float, float, float, float]]) -> str:
    objs = "".join(
        f"<object><name>{n}</name><difficult>1</difficult><bndbox><xmin>{a}</xmin>"
        f"<ymin>{b}</ymin><xmax>{c}</xmax><ymax>{d}</ymax></bndbox></object>"
        for n, a, b, c, d in objects
    )
    return f"<annotation><filename>{filename}</filename>{objs}</annotation>"


@pytest.fixture
def voc_root(tmp_path: Path, make_image: Callable[..., Path]) -> Path:
    root = tmp_path / "voc"
    ann = root / "Annotations"
    ann.mkdir(parents=True)
    make_image(root / "JPEGImages" / "a.jpg", seed=1, size=(40, 30))
    make_image(root / "JPEGImages" / "b.png", seed=2, size=(40, 30))
    make_image(root / "JPEGImages" / "neg.jpg", seed=3)
    (ann / "a.xml").write_text(_xml("a.jpg", [("cat", 1, 2, 10, 12), ("dog", 5.5, 6, 20, 25)]))
    (ann / "b.xml").write_text(_xml("elsewhere/b.jpg", [("dog", 0, 0, 8, 8)]))  # stale name
    (ann / "broken.xml").write_text("<annotation><object>")
    main = root / "ImageSets" / "Main"
    main.mkdir(parents=True)
    (main / "train.txt").write_text("a\nneg\n")
    (main / "test.txt").write_text("b\n")
    (main / "cat_train.txt").write_text("a 1\n")  # per-class lists are ignored
    return root


def test_read(voc_root: Path) -> None:
    result = FORMATS.get("voc").read(voc_root)
    assert result.scenario == "detection"
    by_name = {it.path.name: it for it in result.items}
    assert by_name["a.jpg"].boxes == (Box("cat", 1, 2, 10, 12), Box("dog", 5.5, 6, 20, 25))
    assert by_name["b.png"].boxes == (Box("dog", 0, 0, 8, 8),)  # found by the XML's stem
    assert by_name["neg.jpg"].boxes == ()
    assert {n: it.split for n, it in by_name.items()} == {
        "a.jpg": "train",
        "b.png": "val",  # test counts as val
        "neg.jpg": "train",
    }
    assert codes(result) == ["bad_xml", "no_annotation"]
    assert detect_format(voc_root) == "voc"


def test_raccoon_layout_with_csv_splits(tmp_path: Path, make_image: Callable[..., Path]) -> None:
    (tmp_path / "annotations").mkdir()
    for i in range(3):
        make_image(tmp_path / "images" / f"r-{i}.jpg", seed=i)
        (tmp_path / "annotations" / f"r-{i}.xml").write_text(
            _xml(f"r-{i}.jpg", [("raccoon", 1, 1, 5, 5)])
        )
    (tmp_path / "splits").mkdir()
    header = "filename,width,height,class,xmin,ymin,xmax,ymax\n"
    (tmp_path / "splits" / "train_labels.csv").write_text(
        header + "r-0.jpg,16,16,raccoon,1,1,5,5\nr-1.jpg,16,16,raccoon,1,1,5,5\n"
    )
    (tmp_path / "splits" / "test_labels.csv").write_text(header + "r-2.jpg,16,16,raccoon,1,1,5,5\n")
    (tmp_path / "splits" / "all_labels.csv").write_text(header)
    result = FORMATS.get("voc").read(tmp_path)
    assert {it.path.name: it.split for it in result.items} == {
        "r-0.jpg": "train",
        "r-1.jpg": "train",
        "r-2.jpg": "val",
    }
    assert result.problems == []


def test_unlisted_images_go_to_train(voc_root: Path) -> None:
    (voc_root / "ImageSets" / "Main" / "train.txt").write_text("a\n")
    result = FORMATS.get("voc").read(voc_root)
    assert {it.path.name: it.split for it in result.items}["neg.jpg"] == "train"
    assert "not_in_split" in codes(result)


def test_round_trip(voc_root: Path, tmp_path: Path) -> None:
    first = FORMATS.get("voc").read(voc_root)
    second = roundtrip("voc", first, tmp_path / "out", classes=["dog", "cat"])
    assert content(second, group=False) == content(first, group=False)
    assert second.classes == ["dog", "cat"]  # labelmap.txt keeps the order
    assert second.problems == []


def test_round_trip_without_splits_and_same_stems(
    voc_root: Path, tmp_path: Path, make_image: Callable[..., Path]
) -> None:
    make_image(voc_root / "JPEGImages" / "a.png", seed=9)  # a.jpg and a.png share a stem
    first = FORMATS.get("voc").read(voc_root)
    first.items = [replace(it, split=None) for it in first.items]
    second = roundtrip("voc", first, tmp_path / "out")
    assert content(second) == content(first)
    assert not (tmp_path / "out" / "ImageSets").exists()


@pytest.mark.slow
def test_real_raccoon() -> None:
    root = REAL / "raccoon"
    if not root.is_dir():
        pytest.skip(f"{root} is not here")
    assert detect_format(root) == "voc"
    result = FORMATS.get("voc").read(root)
    assert len(result.items) == 200
    assert sum(len(it.boxes or ()) for it in result.items) == 217
    assert Counter(it.split for it in result.items) == {"train": 160, "val": 40}
    assert all(it.path.is_file() for it in result.items)
    assert result.problems == []
