"""ImageFolder under the ReadResult contract, its writer, and the real ants/bees set."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from fmt_roundtrip import REAL, content, roundtrip

from autolearn.datasets.formats import FORMATS, detect_format
from autolearn.datasets.formats.base import Box, DatasetError, ExportItem


def test_read_returns_read_result(tmp_path: Path, make_imagefolder: Callable[..., Path]) -> None:
    make_imagefolder(tmp_path / "d", {"cat": 2, "dog": 1})
    result = FORMATS.get("imagefolder").read(tmp_path / "d")
    assert result.scenario == "classification" and result.classes is None
    assert sorted(it.label or "" for it in result.items) == ["cat", "cat", "dog"]


def test_round_trip_flat(tmp_path: Path, make_imagefolder: Callable[..., Path]) -> None:
    make_imagefolder(tmp_path / "d", {"cat": 2, "dog": 2})
    first = FORMATS.get("imagefolder").read(tmp_path / "d")
    second = roundtrip("imagefolder", first, tmp_path / "out", classes=["cat", "dog", "empty"])
    assert content(second, group=False) == content(first, group=False)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["cat", "dog"]


def test_round_trip_with_splits(tmp_path: Path, make_imagefolder: Callable[..., Path]) -> None:
    make_imagefolder(tmp_path / "d", {"cat": 2, "dog": 2})
    first = FORMATS.get("imagefolder").read(tmp_path / "d")
    first.items = [
        replace(it, split="val" if n % 2 else "train") for n, it in enumerate(first.items)
    ]
    second = roundtrip("imagefolder", first, tmp_path / "out")
    assert content(second, group=False) == content(first, group=False)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["train", "val"]


def test_write_refuses_boxes(tmp_path: Path, make_image: Callable[..., Path]) -> None:
    img = make_image(tmp_path / "a.png")
    item = ExportItem(img, "a.png", 16, 16, boxes=(Box("cat", 1, 1, 4, 4),))
    with pytest.raises(DatasetError, match="classification"):
        FORMATS.get("imagefolder").write([item], ["cat"], "detection", tmp_path / "out")


@pytest.mark.slow
def test_real_hymenoptera() -> None:
    root = REAL / "hymenoptera"
    if not root.is_dir():
        pytest.skip(f"{root} is not here")
    assert detect_format(root) == "imagefolder"
    result = FORMATS.get("imagefolder").read(root)
    assert Counter(it.split for it in result.items) == {"train": 245, "val": 153}
    assert Counter((it.split, it.label) for it in result.items) == {
        ("train", "ants"): 124,
        ("train", "bees"): 121,
        ("val", "ants"): 70,
        ("val", "bees"): 83,
    }
