"""``commit_version``: the one place that writes a manifest and a version row.

The importer calls it after validation, the labelling API after edits. It writes the
manifest atomically at ``datasets/<name>/<content_hash>/manifest.json``, then inserts
the row in one transaction, recording the parent version and what changed against it
(``VersionInfo.changes``). Identical content returns the existing version and writes
nothing; if the row cannot be written, the manifest it wrote is removed again, so a
version is visible only once both exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from autolearn.accounts.principal import Principal
from autolearn.datasets.formats.base import DatasetError
from autolearn.datasets.manifest import (
    ManifestItem,
    class_counts,
    compute_content_hash,
    diff_items,
    manifest_json,
    manifest_key,
    normalise,
)
from autolearn.datasets.versions import (
    VersionInfo,
    _find_existing,
    _info,
    _latest,
    load_manifest,
)
from autolearn.db import Dataset, DatasetVersion, session_scope
from autolearn.storage import ObjectStore, default_store

SCENARIOS = ("classification", "detection")


def commit_version(
    dataset_name: str,
    items: Sequence[Any],
    classes: Sequence[str],
    scenario: str,
    parent: VersionInfo | None = None,
    source: str = "",
    report: dict[str, Any] | None = None,
    *,
    description: str = "",
    fmt: str = "",
    store: ObjectStore | None = None,
    engine: Engine | None = None,
    actor: Principal | None = None,
) -> VersionInfo:
    """Record ``items`` (their blobs already stored) as a version of ``dataset_name``.

    A new dataset is owned by ``actor``; adding to another user's dataset is refused.

    ``parent`` None means the dataset's latest version (if any). Content equal to an
    existing version of the dataset returns that version and writes nothing.
    """
    if scenario not in SCENARIOS:
        raise DatasetError(f"scenario {scenario!r} is not one of {', '.join(SCENARIOS)}")
    store = store or default_store()
    rows = [normalise(it) for it in items]
    classes = list(classes)
    content_hash = compute_content_hash(rows, classes, scenario)
    existing = _find_existing(dataset_name, content_hash, engine)
    if existing is not None:
        return existing
    counts, _ = class_counts(rows, classes, scenario)
    key = manifest_key(dataset_name, content_hash)
    created = not store.exists(key)
    manifest_uri = store.put_json(key, manifest_json(rows, classes, scenario, content_hash, fmt))
    fields: dict[str, Any] = {
        "content_hash": content_hash,
        "manifest_uri": manifest_uri,
        "classes": classes,
        "class_counts": counts,
        "num_images": len(rows),
        "num_boxes": sum(len(it.boxes or ()) for it in rows),
        "has_fixed_val": any(it.split == "val" for it in rows),
        "source": source,
        "report": dict(report or {}),
    }
    try:
        for _attempt in range(5):
            base = parent or _latest_info(dataset_name, engine)
            changes = _changes(base, rows, classes, store)
            try:
                with session_scope(engine) as s:
                    info = _insert_version(
                        s,
                        dataset_name,
                        description,
                        scenario,
                        base,
                        parent is None,
                        actor,
                        changes=changes,
                        **fields,
                    )
            except IntegrityError:  # another process created the dataset at the same moment
                continue
            if info is not None:
                return info
        raise DatasetError(
            f"dataset {dataset_name!r} kept changing while committing a version; try again"
        )
    except BaseException:
        if created and _find_existing(dataset_name, content_hash, engine) is None:
            store.delete(key)  # no half-written version: the manifest goes with the row
        raise


def _changes(
    base: VersionInfo | None, rows: list[ManifestItem], classes: list[str], store: ObjectStore
) -> dict[str, Any]:
    if base is None:
        return {}
    try:
        old = load_manifest(base, store)
    except DatasetError:
        try:
            old = load_manifest(base)
        except DatasetError:
            return {"parent": base.ref, "unknown": "the parent's manifest cannot be read"}
    changes = diff_items(old.items, rows, old.classes, classes)
    return {"parent": base.ref, **changes}


def _insert_version(
    s: Session,
    name: str,
    description: str,
    scenario: str,
    base: VersionInfo | None,
    base_is_latest: bool,
    actor: Principal | None,
    **values: Any,
) -> VersionInfo | None:
    """Insert the row; None when the latest version moved since ``base`` was read."""
    # Write first, read after: the no-op UPDATE takes the write lock (SQLite) or the row
    # lock (PostgreSQL), so two commits cannot both claim the same version number.
    s.execute(update(Dataset).where(Dataset.name == name).values(name=name))
    ds = s.scalar(select(Dataset).where(Dataset.name == name))
    if ds is None:
        owner = actor.user_id if actor is not None else None
        ds = Dataset(name=name, description=description, scenario=scenario, owner_id=owner)
        s.add(ds)
        s.flush()
    else:
        check_writable(ds, actor)
        if ds.scenario != scenario:
            raise DatasetError(
                f"dataset {name!r} holds {ds.scenario} data, this is {scenario}; import it "
                "under another dataset name"
            )
        if description:
            ds.description = description
    same = s.scalar(
        select(DatasetVersion)
        .where(
            DatasetVersion.dataset_id == ds.id,
            DatasetVersion.content_hash == values["content_hash"],
        )
        .order_by(DatasetVersion.number)
        .limit(1)
    )
    if same is not None:
        return _info(same)
    latest = _latest(s, ds.id)
    if base_is_latest and (latest.id if latest else None) != (base.id if base else None):
        return None
    version = DatasetVersion(
        dataset=ds,
        number=latest.number + 1 if latest else 1,
        parent_id=base.id if base else None,
        **values,
    )
    s.add(version)
    s.flush()
    return _info(version)


class DatasetPermissionError(DatasetError):
    """The caller may read the dataset (or learn that its name is taken) but not change it."""


IMPORT_HINT = "import under another name"


def check_writable(ds: Dataset, actor: Principal | None, hint: str = IMPORT_HINT) -> None:
    """Only the owner (or an admin) adds versions; a shared dataset is the admins'.
    ``hint`` says what the refused caller can do instead (it differs per action)."""
    if actor is None or actor.is_admin or ds.owner_id == actor.user_id:
        return
    if ds.owner_id is None:
        raise DatasetPermissionError(f"dataset {ds.name!r} is shared read-only; {hint}")
    raise DatasetPermissionError(f"the dataset name {ds.name!r} is taken; {hint}")


def ensure_writable(
    name: str, actor: Principal | None, engine: Engine | None = None, hint: str = IMPORT_HINT
) -> None:
    """Raise before any work when ``actor`` may not add versions to dataset ``name``."""
    with session_scope(engine) as s:
        ds = s.scalar(select(Dataset).where(Dataset.name == name))
        if ds is not None:
            check_writable(ds, actor, hint)


def _latest_info(name: str, engine: Engine | None) -> VersionInfo | None:
    with session_scope(engine) as s:
        ds = s.scalar(select(Dataset).where(Dataset.name == name))
        if ds is None:
            return None
        v = _latest(s, ds.id)
        return _info(v) if v is not None else None


def dataset_scenario(name: str, engine: Engine | None = None) -> str | None:
    """The scenario of dataset ``name``, or None when it does not exist yet."""
    with session_scope(engine) as s:
        return s.scalar(select(Dataset.scenario).where(Dataset.name == name))


__all__ = [
    "SCENARIOS",
    "DatasetPermissionError",
    "check_writable",
    "commit_version",
    "dataset_scenario",
    "ensure_writable",
]
