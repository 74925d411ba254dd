"""The data center's service layer: import, version, look up and read datasets.

A facade over the focused modules, so callers import one place:

- ``importer``: the import pipeline (``import_dataset``, policies ``strict``/``lenient``)
- ``archive``: safe zip extraction and source-folder checks
- ``validate``: per-image and per-item checks; ``report``: the ``ImportReport``
- ``manifest``: manifest items, content hash, class counts, lineage diff
- ``versions``: ``commit_version``, ``VersionInfo`` and the lookups

An import validates every image first, then writes the images content-addressed
(``blobs/<sha[:2]>/<sha256><ext>``), then the manifest
(``datasets/<name>/<content_hash>/manifest.json``), and only then records the
version in the database, in one transaction. A refusal leaves nothing behind.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from sqlalchemy import Engine

from autolearn.datasets.commit import commit_version
from autolearn.datasets.formats.base import DatasetError
from autolearn.datasets.importer import Policy, import_dataset, sanitize_name
from autolearn.datasets.manifest import (
    Manifest,
    ManifestItem,
    blob_key,
    compute_content_hash,
    manifest_key,
    to_rgb,
)
from autolearn.datasets.report import CODES, DatasetImportError, ImportReport
from autolearn.datasets.versions import (
    DatasetNotFoundError,
    VersionInfo,
    lineage,
    list_datasets,
    load_manifest,
    resolve_version,
    show_dataset,
)
from autolearn.storage import ObjectStore


def ensure_sample(
    name: str, store: ObjectStore | None = None, engine: Engine | None = None
) -> VersionInfo:
    """The built-in sample ``name`` as dataset ``sample-<name>``, built on first use."""
    from autolearn.datasets.samples import SAMPLES

    if name not in SAMPLES:
        raise DatasetNotFoundError(
            f"unknown sample dataset {name!r}; known samples: {', '.join(SAMPLES.names())}"
        )
    spec = SAMPLES.get(name)
    dataset_name = f"sample-{name}"
    try:
        return resolve_version(dataset_name, engine)
    except DatasetNotFoundError:
        pass
    from autolearn.settings import get_settings

    tmp_root = get_settings().home / "tmp"
    tmp_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"sample-{name}-", dir=tmp_root) as tmp:
        folder = spec.build(Path(tmp))
        return import_dataset(
            folder, name=dataset_name, description=spec.description, store=store, engine=engine
        )


__all__ = [
    "CODES",
    "DatasetError",
    "DatasetImportError",
    "DatasetNotFoundError",
    "ImportReport",
    "Manifest",
    "ManifestItem",
    "Policy",
    "VersionInfo",
    "blob_key",
    "commit_version",
    "compute_content_hash",
    "ensure_sample",
    "import_dataset",
    "lineage",
    "list_datasets",
    "load_manifest",
    "manifest_key",
    "resolve_version",
    "sanitize_name",
    "show_dataset",
    "to_rgb",
]
