"""The real datasets survive read → write → read through every format that can hold them."""

from __future__ import annotations

from pathlib import Path

import pytest
from fmt_roundtrip import REAL, content, roundtrip

from autolearn.datasets.formats import FORMATS, detect_format

BOX_FORMATS = ("coco", "voc", "yolo", "cvat_yolo", "csv", "labelstudio")
CASES = [
    *(("raccoon", "voc", out) for out in BOX_FORMATS),
    *(("mealtray", "cvat_yolo", out) for out in BOX_FORMATS),
    *(("hymenoptera", "imagefolder", out) for out in ("imagefolder", "csv", "labelstudio")),
]


@pytest.mark.slow
@pytest.mark.parametrize(("dataset", "source", "out"), CASES)
def test_real_round_trip(dataset: str, source: str, out: str, tmp_path: Path) -> None:
    root = REAL / dataset
    if not root.is_dir():
        pytest.skip(f"{root} is not here")
    first = FORMATS.get(source).read(root)
    second = roundtrip(out, first, tmp_path / "out")
    assert detect_format(tmp_path / "out") == out
    assert content(second) == content(first)
    assert second.problems == []
    if second.classes is not None and first.classes is not None:
        assert second.classes == first.classes
