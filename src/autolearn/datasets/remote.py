"""Sources behind a storage URI (``s3://bucket/data.zip``, ``s3://bucket/photos/``):
copied into a local temporary folder, then imported like a local ``.zip`` or folder.

The copy keeps the import's limits as it goes (``import_max_files`` objects before the
first byte, ``import_max_bytes`` counted while copying), so a huge prefix is refused
early instead of filling the disk. The temporary folder is always removed.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from autolearn.datasets.archive import Limits, _too_large, _too_many
from autolearn.datasets.report import ImportReport, refuse
from autolearn.storage import SCHEMES, ObjectStore, StorageError, open_store

_URI = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_CHUNK = 1 << 20


def is_remote(source: str) -> bool:
    """Whether ``source`` is a URI of a storage scheme other than ``file://`` (a local
    path either way, read in place)."""
    match = _URI.match(source)
    scheme = match.group(1).lower() if match else "file"
    return scheme != "file" and scheme in SCHEMES


@contextmanager
def fetched(source: str, report: ImportReport) -> Iterator[Path]:
    """A local copy of ``source``: the ``.zip`` object itself, or a folder holding every
    object under the prefix (their keys as relative paths)."""
    from autolearn.settings import get_settings

    tmp_root = get_settings().home / "tmp"
    tmp_root.mkdir(parents=True, exist_ok=True)
    limits = Limits.from_settings()
    with tempfile.TemporaryDirectory(prefix="fetch-", dir=tmp_root) as tmp:
        try:
            local = _download(source, Path(tmp), limits, report)
        except (StorageError, FileNotFoundError, ImportError) as exc:
            raise refuse(
                "source_missing", source, f"cannot read {source}: {exc}; check the URI", report
            ) from None
        yield local


def _download(source: str, tmp: Path, limits: Limits, report: ImportReport) -> Path:
    if source.lower().endswith(".zip"):
        parent, key = source.rsplit("/", 1)
        _copy(open_store(parent), [key], tmp, source, limits, report)
        return tmp / key
    store = open_store(source.rstrip("/"))
    _copy(store, store.list(), tmp, source, limits, report)
    return tmp


def _copy(
    store: ObjectStore,
    keys: list[str],
    dest: Path,
    source: str,
    limits: Limits,
    report: ImportReport,
) -> None:
    if not keys:
        raise refuse(
            "source_missing",
            source,
            f"there is nothing under {source}; check the URI (a folder prefix or a .zip object)",
            report,
        )
    if len(keys) > limits.max_files:
        raise _too_many(source, len(keys), limits, report)
    written = 0
    for key in keys:
        target = dest.joinpath(*key.split("/"))  # keys are clean: no '..', no leading '/'
        target.parent.mkdir(parents=True, exist_ok=True)
        with store.open(key) as fin, target.open("wb") as fout:
            written = _copy_stream(fin, fout, written, source, limits, report)


def _copy_stream(
    fin: IO[bytes], fout: IO[bytes], written: int, source: str, limits: Limits, report: ImportReport
) -> int:
    """Copy one object, counting bytes against the limit for the whole source."""
    while chunk := fin.read(_CHUNK):
        written += len(chunk)
        if written > limits.max_bytes:
            raise _too_large(source, written, limits, report)
        fout.write(chunk)
    return written


__all__ = ["fetched", "is_remote"]
