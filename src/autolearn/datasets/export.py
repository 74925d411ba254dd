"""Export a dataset version in any registered format (the inverse of import).

Images are handed to the format as local files: read in place from a ``file://``
store, downloaded to a temporary folder from any other store.
"""

from __future__ import annotations

import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from autolearn.datasets.formats import get_format
from autolearn.datasets.formats.base import DatasetError, ExportItem
from autolearn.storage import LocalStore


def export_version(ref: str, fmt: str, dest: str | Path) -> dict[str, Any]:
    """Write version ``ref`` to the folder ``dest`` in format ``fmt``; returns a summary."""
    from autolearn.datasets.service import load_manifest, resolve_version

    version = resolve_version(ref)
    manifest = load_manifest(version)
    writer = get_format(fmt)
    if manifest.scenario not in writer.scenarios:
        raise DatasetError(
            f"format {fmt!r} holds {', '.join(writer.scenarios)} data; {version.ref} is "
            f"{manifest.scenario}: pick another format"
        )
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise DatasetError(f"export folder {dest} is not empty; give a new or empty folder")
    with tempfile.TemporaryDirectory(prefix="autolearn-export-") as tmp:
        items = [
            _export_item(manifest, item, Path(tmp), names)
            for item, names in _with_names(manifest.items)
        ]
        dest.mkdir(parents=True, exist_ok=True)
        writer.write(items, list(manifest.classes), manifest.scenario, dest)
    return {
        "version": version.ref,
        "format": fmt,
        "dest": str(dest),
        "images": len(items),
        "content_hash": version.content_hash,
    }


def _with_names(items: list[Any]) -> list[tuple[Any, str]]:
    """A file name per item, unique in the export (the source name where possible)."""
    seen: dict[str, int] = {}
    out = []
    for item in items:
        base = PurePosixPath(item.source_path or item.blob).name or item.sha256
        stem, suffix = PurePosixPath(base).stem, PurePosixPath(item.blob).suffix
        name = f"{stem}{suffix}"
        count = seen.get(name.lower(), 0)
        seen[name.lower()] = count + 1
        out.append((item, name if count == 0 else f"{stem}_{count}{suffix}"))
    return out


def _export_item(manifest: Any, item: Any, tmp: Path, name: str) -> ExportItem:
    store = manifest.store
    if isinstance(store, LocalStore):
        image = store.path(item.blob)
    else:
        image = tmp / item.sha256
        image.write_bytes(store.get_bytes(item.blob))
    return ExportItem(
        image=image,
        name=name,
        width=item.width,
        height=item.height,
        label=item.label,
        split=item.split,
        boxes=item.boxes,
        group=item.group,
    )
