"""The must-show imports on the real photos in ../shared/datasets (slow; skipped without)."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

import pytest

from autolearn.datasets.service import import_dataset, load_manifest
from autolearn.datasets.splitting import split_version

DATA = Path(__file__).resolve().parents[3] / "shared" / "datasets"
pytestmark = pytest.mark.slow


def _need(name: str) -> Path:
    if not (DATA / name).is_dir():
        pytest.skip(f"{DATA / name} is missing")
    return DATA / name


def test_raccoon_voc(autolearn_home: Path) -> None:
    version = import_dataset(_need("raccoon"), name="raccoon")
    assert version.report["format"] == "voc" and version.scenario == "detection"
    assert version.num_images == 200 and version.num_boxes == 217
    splits = [i.split for i in load_manifest(version).items]
    assert (splits.count("train"), splits.count("val")) == (160, 40)  # its CSV split


def test_mealtray_cvat_yolo_and_a_group_split_by_shot_runs(autolearn_home: Path) -> None:
    version = import_dataset(_need("mealtray"), name="mealtray")
    assert version.report["format"] == "cvat_yolo"
    assert version.num_images == 487 and version.num_boxes == 1647
    split = split_version("mealtray", 20, "runs", r"\((\d+)\)")
    assert split.parent_id == version.id and split.has_fixed_val
    items = load_manifest(split).items
    numbers = sorted(
        (int(re.search(r"\((\d+)\)", PurePosixPath(i.source_path).name).group(1)), i.split)
        for i in items
    )
    runs: list[set[str | None]] = [set()]
    for (n, side), prev in zip(numbers, [None, *numbers[:-1]], strict=True):
        if prev is not None and n - prev[0] > 1:
            runs.append(set())
        runs[-1].add(side)
    assert len(runs) == 10 and all(len(sides) == 1 for sides in runs)
    val = sum(i.split == "val" for i in items)
    assert 0.12 < val / len(items) < 0.3


def test_hymenoptera_imagefolder_with_its_palette_image(autolearn_home: Path) -> None:
    version = import_dataset(_need("hymenoptera"), name="hymenoptera")
    assert version.class_counts["train"] == {"ants": 124, "bees": 121}
    assert version.class_counts["val"] == {"ants": 70, "bees": 83}
    report = version.report
    assert report["modes_converted"] == {"P": 1}
    listed = [p for p in report["problems"] if p["code"] == "mode_converted"]
    assert [p["file"].endswith("imageNotFound.gif") for p in listed] == [True]
