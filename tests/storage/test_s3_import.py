"""Importing a dataset from an s3:// prefix and an s3:// .zip object, against a real
S3 server (the same paths as tests/datasets/test_remote_import.py)."""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from autolearn.datasets.service import import_dataset
from autolearn.storage import open_store

pytestmark = pytest.mark.s3


def test_import_from_a_prefix_and_a_zip_object(
    autolearn_home: Path, s3_uri: str, make_imagefolder: Callable[..., Path]
) -> None:
    folder = make_imagefolder(autolearn_home / "src" / "pets", {"cat": 3, "dog": 3})
    store = open_store(s3_uri)
    for file in sorted(folder.rglob("*.png")):
        store.put_file(f"pets/{file.relative_to(folder).as_posix()}", str(file))
    archive = autolearn_home / "pets.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for file in sorted(folder.rglob("*.png")):
            zf.write(file, file.relative_to(folder).as_posix())
    store.put_file("zips/pets.zip", str(archive))
    shutil.rmtree(folder)
    version = import_dataset(f"{s3_uri}/pets")
    assert (version.ref, version.num_images, version.source) == ("pets:v1", 6, f"{s3_uri}/pets")
    assert import_dataset(f"{s3_uri}/zips/pets.zip").id == version.id
    assert list((autolearn_home / "tmp").iterdir()) == []  # the copies are gone
