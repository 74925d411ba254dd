"""The ImageFolder format: layouts, filtering, wrapper folders and layout errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from autolearn.datasets.formats import (
    FORMATS,
    DatasetImportError,
    ImageFolder,
    detect_format,
    get_format,
    unwrap,
)


def _summary(items):  # type: ignore[no-untyped-def]
    return [(p.path.name, p.label, p.split) for p in items]


def test_class_folders_layout(tmp_path: Path, make_imagefolder, make_image) -> None:
    root = make_imagefolder(tmp_path / "data", {"cat": 2, "dog": 1})
    make_image(root / "dog" / "UPPER.JPG", seed=99)
    make_image(root / "dog" / "nested" / "deep.webp", seed=98)
    make_image(root / "cat" / ".hidden.png", seed=97)
    make_image(root / "__MACOSX" / "cat" / "._0.png", seed=96)
    (root / "cat" / "notes.txt").write_text("not an image")
    (root / "README.md").write_text("readme")

    assert detect_format(root) == "imagefolder"
    items = ImageFolder().read(root).items
    assert _summary(items) == [
        ("0.png", "cat", None),
        ("1.png", "cat", None),
        ("0.png", "dog", None),
        ("UPPER.JPG", "dog", None),
        ("deep.webp", "dog", None),
    ]


@pytest.mark.parametrize("val_name", ["val", "validation", "valid", "test", "VAL"])
def test_train_val_layout(tmp_path: Path, make_imagefolder, val_name: str) -> None:
    make_imagefolder(tmp_path / "d" / "train", {"a": 2, "b": 2})
    make_imagefolder(tmp_path / "d" / val_name, {"a": 1, "b": 1}, seed=1)
    items = ImageFolder().read(tmp_path / "d").items
    assert [i.split for i in items] == ["train"] * 4 + ["val"] * 2
    assert [i.label for i in items if i.split == "val"] == ["a", "b"]


def test_wrapper_folder_is_descended(tmp_path: Path, make_imagefolder) -> None:
    make_imagefolder(tmp_path / "outer" / "inner" / "train", {"a": 1, "b": 1})
    make_imagefolder(tmp_path / "outer" / "inner" / "val", {"a": 1}, seed=1)
    (tmp_path / "outer" / "LICENSE").write_text("x")
    assert unwrap(tmp_path / "outer") == tmp_path / "outer" / "inner"
    assert detect_format(unwrap(tmp_path / "outer")) == "imagefolder"


def test_lone_class_folder_is_not_a_wrapper(tmp_path: Path, make_imagefolder) -> None:
    make_imagefolder(tmp_path / "d", {"only": 2})
    assert unwrap(tmp_path / "d") == tmp_path / "d"


def test_empty_class_folder_is_named(tmp_path: Path, make_imagefolder) -> None:
    root = make_imagefolder(tmp_path / "d", {"a": 1, "b": 1})
    (root / "empty").mkdir()
    (root / "empty" / "x.txt").write_text("no image")
    with pytest.raises(DatasetImportError, match=r"d/empty/ has no images"):
        ImageFolder().read(root)


def test_loose_image_is_refused(tmp_path: Path, make_imagefolder, make_image) -> None:
    root = make_imagefolder(tmp_path / "d", {"a": 1, "b": 1})
    make_image(root / "stray.png", seed=5)
    with pytest.raises(DatasetImportError, match=r"stray\.png is not inside a class folder"):
        ImageFolder().read(root)


def test_ambiguous_split_layouts(tmp_path: Path, make_imagefolder) -> None:
    make_imagefolder(tmp_path / "two" / "train", {"a": 1, "b": 1})
    make_imagefolder(tmp_path / "two" / "val", {"a": 1}, seed=1)
    make_imagefolder(tmp_path / "two" / "test", {"a": 1}, seed=2)
    with pytest.raises(DatasetImportError, match="several validation folders"):
        ImageFolder().read(tmp_path / "two")

    make_imagefolder(tmp_path / "mixed" / "train", {"a": 1, "b": 1})
    make_imagefolder(tmp_path / "mixed", {"extra": 1}, seed=3)
    with pytest.raises(DatasetImportError, match=r"other folders \(extra/\)"):
        ImageFolder().read(tmp_path / "mixed")

    make_imagefolder(tmp_path / "noval" / "val", {"a": 1, "b": 1})
    make_imagefolder(tmp_path / "noval" / "other", {"a": 1}, seed=4)
    with pytest.raises(DatasetImportError, match="no train/ folder"):
        ImageFolder().read(tmp_path / "noval")


def test_detect_lists_known_formats(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("x")
    with pytest.raises(DatasetImportError, match=r"no known dataset format.*imagefolder \("):
        detect_format(tmp_path)


def test_registry() -> None:
    assert "imagefolder" in FORMATS
    assert isinstance(get_format("imagefolder"), ImageFolder)
    with pytest.raises(DatasetImportError, match=r"known: .*imagefolder"):
        get_format("nope")
