"""Built-in samples: the digits builder and ensure_sample."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from autolearn.datasets.samples import SAMPLES
from autolearn.datasets.service import (
    DatasetNotFoundError,
    ensure_sample,
    list_datasets,
    load_manifest,
)


def _tree_hash(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.png")):
        h.update(p.relative_to(root).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def test_digits_build_is_deterministic(tmp_path: Path) -> None:
    spec = SAMPLES.get("digits")
    assert spec.scenario == "classification"
    a = spec.build(tmp_path / "a")
    b = spec.build(tmp_path / "b")
    assert _tree_hash(a) == _tree_hash(b)
    assert sorted(p.name for p in a.iterdir()) == [str(d) for d in range(10)]
    assert sum(1 for _ in a.rglob("*.png")) == 1797


def test_ensure_sample_digits(autolearn_home: Path) -> None:
    v = ensure_sample("digits")
    assert v.dataset == "sample-digits" and v.ref == "sample-digits:v1"
    assert v.classes == [str(d) for d in range(10)]
    assert v.num_images == 1797 and not v.has_fixed_val
    assert all(170 <= n <= 190 for n in v.class_counts["all"].values())
    assert v.report["image_size"]["width"] == {"min": 64, "median": 64, "max": 64}
    assert ensure_sample("digits").id == v.id  # built once
    assert [d["name"] for d in list_datasets()] == ["sample-digits"]
    img = load_manifest(v).open_image(load_manifest(v).items[0])
    assert img.mode == "RGB" and img.size == (64, 64)
    assert not list((autolearn_home / "tmp").iterdir())

    # the same bytes in a fresh home give the same content hash
    other = autolearn_home / "other"
    from autolearn.datasets.service import import_dataset
    from autolearn.storage import open_store

    rebuilt = SAMPLES.get("digits").build(other)
    again = import_dataset(rebuilt, name="digits-copy", store=open_store(other.as_uri()))
    assert again.content_hash == v.content_hash


def test_unknown_sample(autolearn_home: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match="known samples: digits"):
        ensure_sample("imagenet")
