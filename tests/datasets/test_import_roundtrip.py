"""Import → export → import gives the same content hash, for every format, through the
real importer (the format tests check each reader/writer pair on its own)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from autolearn.datasets.export import export_version
from autolearn.datasets.formats import FORMATS
from autolearn.datasets.formats.base import DatasetError
from autolearn.datasets.service import import_dataset, load_manifest

DETECTION = ["coco", "voc", "yolo", "cvat_yolo", "csv", "labelstudio"]
CLASSIFICATION = ["imagefolder", "csv", "labelstudio"]


def _detection_source(root: Path, make_image: Callable[..., Path]) -> Path:
    rows = ["path,xmin,ymin,xmax,ymax,label,split"]
    for i in range(6):
        make_image(root / f"img{i}.jpg", seed=i, size=(64, 48))
        split = "val" if i >= 4 else "train"
        rows.append(f"img{i}.jpg,{3 + i},4.25,{30 + i}.5,40,cup,{split}")
        if i % 2 == 0:
            rows.append(f"img{i}.jpg,10,10,60,47.75,plate,{split}")
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    return root


def test_every_format_is_registered() -> None:
    assert set(DETECTION + CLASSIFICATION) <= set(FORMATS.names())


@pytest.mark.parametrize("fmt", DETECTION)
def test_detection_round_trip_keeps_the_hash(
    fmt: str, autolearn_home: Path, make_image: Callable[..., Path]
) -> None:
    first = import_dataset(_detection_source(autolearn_home / "src", make_image), name="det")
    assert first.scenario == "detection" and first.num_boxes == 9
    out = autolearn_home / f"export-{fmt}"
    export_version(first.ref, fmt, out)
    again = import_dataset(out, name=f"det-{fmt.replace('_', '-')}", fmt=fmt)
    assert again.content_hash == first.content_hash, fmt
    assert load_manifest(again).classes == load_manifest(first).classes


@pytest.mark.parametrize("fmt", CLASSIFICATION)
def test_classification_round_trip_keeps_the_hash(
    fmt: str, autolearn_home: Path, make_learnable_folder: Callable[..., Path]
) -> None:
    root = make_learnable_folder(autolearn_home / "colours", {"red": 5, "blue": 4})
    first = import_dataset(root, name="colours")
    out = autolearn_home / f"export-{fmt}"
    export_version(first.ref, fmt, out)
    again = import_dataset(out, name=f"colours-{fmt}", fmt=fmt)
    assert again.content_hash == first.content_hash, fmt


def test_export_refuses_a_format_of_another_scenario(
    autolearn_home: Path, make_learnable_folder: Callable[..., Path]
) -> None:
    root = make_learnable_folder(autolearn_home / "colours", {"red": 5, "blue": 4})
    ref = import_dataset(root, name="colours").ref
    with pytest.raises(DatasetError, match="pick another format"):
        export_version(ref, "voc", autolearn_home / "out")
    (autolearn_home / "full").mkdir()
    (autolearn_home / "full" / "x.txt").write_text("x")
    with pytest.raises(DatasetError, match="not empty"):
        export_version(ref, "imagefolder", autolearn_home / "full")
