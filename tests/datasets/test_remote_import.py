"""Importing from a storage URI (``s3://bucket/prefix`` or ``…/data.zip``): copied to a
temporary folder within the import's limits, named by its URI in the report, and the
copy removed. These use a stand-in scheme backed by local files;
tests/storage/test_s3_import.py runs the same against a real S3 server."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from autolearn.datasets.report import DatasetImportError
from autolearn.datasets.service import import_dataset, load_manifest
from autolearn.settings import get_settings
from autolearn.storage import SCHEMES, LocalStore


@pytest.fixture
def bucket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``fake://<key>`` reads ``<bucket>/<key>``: a store that is not a local path."""
    root = tmp_path / "bucket"
    root.mkdir()
    monkeypatch.setitem(
        SCHEMES._items, "fake", lambda uri: LocalStore(f"file://{root}/{uri[len('fake://') :]}")
    )
    return root


def _zip(folder: Path, archive: Path) -> Path:
    archive.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive, "w") as zf:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                zf.write(file, file.relative_to(folder).as_posix())
    return archive


def _left_behind(home: Path) -> list[Path]:
    return list((home / "tmp").iterdir()) if (home / "tmp").exists() else []


def test_a_prefix_and_a_zip_object(
    autolearn_home: Path, bucket: Path, make_imagefolder: Callable[..., Path]
) -> None:
    make_imagefolder(bucket / "data" / "pets", {"cat": 3, "dog": 3})
    version = import_dataset("fake://data/pets/")
    assert (version.ref, version.num_images, version.source) == ("pets:v1", 6, "fake://data/pets/")
    assert "cat/0.png" in {i.source_path for i in load_manifest(version).items}
    _zip(bucket / "data" / "pets", bucket / "zips" / "Pets.zip")
    again = import_dataset("fake://zips/Pets.zip", name="pets")
    assert again.id == version.id  # the same content
    assert import_dataset("fake://zips/Pets.zip").ref == "pets:v1"  # named after the zip
    assert _left_behind(autolearn_home) == []


def test_refusals_name_the_uri(
    autolearn_home: Path,
    bucket: Path,
    make_image: Callable[..., Path],
    make_imagefolder: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(DatasetImportError, match="there is nothing under fake://empty"):
        import_dataset("fake://empty")
    make_image(bucket / "loose" / "a.png")
    with pytest.raises(DatasetImportError, match="no known dataset format fits fake://loose/;"):
        import_dataset("fake://loose")
    with pytest.raises(DatasetImportError, match=r"cannot read fake://zips/none\.zip"):
        import_dataset("fake://zips/none.zip")
    make_imagefolder(bucket / "many", {"cat": 3, "dog": 3})
    monkeypatch.setenv("AUTOLEARN_IMPORT_MAX_FILES", "5")
    get_settings.cache_clear()
    with pytest.raises(DatasetImportError) as err:
        import_dataset("fake://many")
    assert err.value.report["problems"][0]["code"] == "too_many_files"
    assert _left_behind(autolearn_home) == []
