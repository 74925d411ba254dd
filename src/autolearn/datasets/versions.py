"""Dataset versions: immutable, content-addressed, numbered, with lineage.

``VersionInfo`` is a version as the platform sees it (a task references one, so the
exact data a model saw can always be shown); ``commit.commit_version`` writes them.
Lookups: ``resolve_version`` (``name``, ``name:vN``, ``name@<hash>``, id),
``list_datasets``, ``show_dataset``, ``lineage`` (a version and its ancestors) and
``load_manifest`` (a version's items).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine, or_, select, true
from sqlalchemy.orm import Session, selectinload

from autolearn.accounts.principal import Principal, may_read_dataset, owner_filter
from autolearn.datasets.formats.base import DatasetError
from autolearn.datasets.manifest import Manifest, item_from_json, manifest_key
from autolearn.db import Dataset, DatasetVersion, session_scope
from autolearn.storage import ObjectStore, open_store


class DatasetNotFoundError(DatasetError, LookupError):
    """A dataset reference matched nothing; the message lists what exists."""


class VersionInfo(BaseModel):
    """One dataset version as the rest of the platform sees it."""

    model_config = ConfigDict(frozen=True)

    id: int
    dataset: str
    number: int
    ref: str
    content_hash: str
    classes: list[str]
    class_counts: dict[str, dict[str, int]]
    num_images: int
    has_fixed_val: bool
    manifest_uri: str
    created_at: datetime
    report: dict[str, Any]
    parent_id: int | None = None
    source: str = ""
    scenario: str = "classification"
    num_boxes: int = 0
    changes: dict[str, Any] = {}

    @property
    def train_counts(self) -> dict[str, int]:
        """Per class, what is available for training (``train``, or ``all`` without a
        fixed val set): images for classification, boxes for detection."""
        return dict(self.class_counts.get("train") or self.class_counts.get("all") or {})

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def _latest(s: Session, dataset_id: int) -> DatasetVersion | None:
    return s.scalar(
        select(DatasetVersion)
        .where(DatasetVersion.dataset_id == dataset_id)
        .order_by(DatasetVersion.number.desc())
        .limit(1)
    )


def _find_existing(name: str, content_hash: str, engine: Engine | None) -> VersionInfo | None:
    with session_scope(engine) as s:
        v = s.scalar(
            select(DatasetVersion)
            .join(Dataset)
            .where(Dataset.name == name, DatasetVersion.content_hash == content_hash)
            .order_by(DatasetVersion.number)
            .limit(1)
        )
        return _info(v) if v is not None else None


def _info(v: DatasetVersion) -> VersionInfo:
    created = v.created_at
    if created.tzinfo is None:  # SQLite drops the zone; we always store UTC
        created = created.replace(tzinfo=timezone.utc)
    return VersionInfo(
        id=v.id,
        dataset=v.dataset.name,
        number=v.number,
        ref=v.ref,
        content_hash=v.content_hash,
        classes=list(v.classes),
        class_counts=v.class_counts,
        num_images=v.num_images,
        has_fixed_val=v.has_fixed_val,
        manifest_uri=v.manifest_uri,
        created_at=created,
        report=v.report,
        parent_id=v.parent_id,
        source=v.source,
        scenario=v.dataset.scenario,
        num_boxes=v.num_boxes or 0,
        changes=v.changes or {},
    )


# --------------------------------------------------------------------------- lookups


def resolve_version(
    ref: str | int, engine: Engine | None = None, actor: Principal | None = None
) -> VersionInfo:
    """Find a version by ``name``, ``name:vN``/``name:N``, ``name@<hash prefix>`` or id;
    ``actor`` sees only the datasets it may read (others do not exist for it)."""
    text = str(ref).strip()
    with session_scope(engine) as s:
        if text.isascii() and text.isdigit():
            v = s.get(DatasetVersion, int(text)) if int(text) < 2**63 else None
            if v is None or not may_read_dataset(actor, v.dataset.owner_id):
                raise DatasetNotFoundError(
                    f"no dataset version with id {text}; {_known_datasets(s, actor)}"
                )
            return _info(v)
        if "@" in text:
            name, prefix = text.rsplit("@", 1)
            prefix = prefix.lower()
            if len(prefix) < 6 or not re.fullmatch(r"[0-9a-f]+", prefix):
                raise DatasetError(
                    f"{text!r}: a content-hash reference needs at least 6 hex digits after "
                    "'@' (e.g. 'ants@3fa2c1'); `show` a dataset to see its hashes"
                )
            ds = _dataset(s, name, actor)
            hits = [v for v in ds.versions if v.content_hash.startswith(prefix)]
            if len(hits) > 1:
                raise DatasetError(
                    f"{text!r} matches several versions ({', '.join(v.ref for v in hits)}); "
                    "give more hex digits"
                )
            if not hits:
                raise DatasetNotFoundError(
                    f"no version of {name!r} has a content hash starting with {prefix!r}; "
                    f"{_known_versions(ds, with_hash=True)}"
                )
            return _info(hits[0])
        if ":" in text:
            name, number = text.rsplit(":", 1)
            digits = number[1:] if number[:1] in ("v", "V") else number
            if not (digits.isascii() and digits.isdigit()):
                raise DatasetError(
                    f"{text!r} is not a dataset reference; write name, name:vN, name@<hash> "
                    "or a version id"
                )
            ds = _dataset(s, name, actor)
            for v in ds.versions:
                if v.number == int(digits):
                    return _info(v)
            raise DatasetNotFoundError(
                f"dataset {name!r} has no version v{int(digits)}; {_known_versions(ds)}"
            )
        ds = _dataset(s, text, actor)
        if not ds.versions:
            raise DatasetNotFoundError(f"dataset {text!r} has no versions yet; import one")
        return _info(ds.versions[-1])


def _dataset(s: Session, name: str, actor: Principal | None = None) -> Dataset:
    ds = s.scalar(
        select(Dataset).where(Dataset.name == name).options(selectinload(Dataset.versions))
    )
    if ds is None or not may_read_dataset(actor, ds.owner_id):
        raise DatasetNotFoundError(f"no dataset named {name!r}; {_known_datasets(s, actor)}")
    return ds


def _readable(actor: Principal | None) -> Any:
    """A WHERE clause for the datasets ``actor`` may read (see ``may_read_dataset``)."""
    owner = owner_filter(actor)
    if owner is None:
        return true()
    return or_(Dataset.owner_id.is_(None), Dataset.owner_id == owner)


def _known_datasets(s: Session, actor: Principal | None = None) -> str:
    names = list(
        s.scalars(select(Dataset.name).where(_readable(actor)).order_by(Dataset.name).limit(51))
    )
    if not names:
        return "no datasets exist yet: import one first"
    more = ", …" if len(names) > 50 else ""
    return f"known datasets: {', '.join(names[:50])}{more}"


def _known_versions(ds: Dataset, with_hash: bool = False) -> str:
    if not ds.versions:
        return "it has no versions yet"
    listed = ", ".join(
        f"v{v.number} @{v.content_hash[:12]}" if with_hash else f"v{v.number}" for v in ds.versions
    )
    return f"its versions: {listed} (latest v{ds.versions[-1].number})"


def list_datasets(
    engine: Engine | None = None, actor: Principal | None = None
) -> list[dict[str, Any]]:
    """One summary row per dataset ``actor`` may read, by name."""
    rows: list[dict[str, Any]] = []
    with session_scope(engine) as s:
        for ds in s.scalars(
            select(Dataset)
            .where(_readable(actor))
            .order_by(Dataset.name)
            .options(selectinload(Dataset.versions))
        ):
            latest = ds.versions[-1] if ds.versions else None
            rows.append(
                {
                    "name": ds.name,
                    "owner_id": ds.owner_id,
                    "description": ds.description,
                    "scenario": ds.scenario,
                    "versions": len(ds.versions),
                    "latest": latest.ref if latest else None,
                    "num_images": latest.num_images if latest else 0,
                    "classes": list(latest.classes) if latest else [],
                }
            )
    return rows


def show_dataset(
    name: str, engine: Engine | None = None, actor: Principal | None = None
) -> dict[str, Any]:
    """A dataset with every version (oldest first), each with its parent and changes."""
    with session_scope(engine) as s:
        ds = _dataset(s, name, actor)
        versions = [_info(v).to_dict() for v in ds.versions]
        created = ds.created_at
        if created.tzinfo is None:
            created = created.replace(tzinfo=timezone.utc)
        return {
            "name": ds.name,
            "owner_id": ds.owner_id,
            "description": ds.description,
            "scenario": ds.scenario,
            "created_at": created.isoformat(),
            "latest": versions[-1]["ref"] if versions else None,
            "versions": versions,
        }


def lineage(
    ref: str | int, engine: Engine | None = None, actor: Principal | None = None
) -> list[VersionInfo]:
    """The version ``ref`` and its ancestors, newest first."""
    chain = [resolve_version(ref, engine, actor)]
    while chain[-1].parent_id is not None and len(chain) < 10_000:
        chain.append(resolve_version(chain[-1].parent_id, engine))
    return chain


def load_manifest(version: VersionInfo, store: ObjectStore | None = None) -> Manifest:
    """Read a version's manifest; images are read from ``store`` (default: where it was written)."""
    key = manifest_key(version.dataset, version.content_hash)
    if store is None:
        uri = version.manifest_uri
        if not uri.endswith("/" + key):
            raise DatasetError(
                f"manifest URI {uri!r} of {version.ref} does not end in {key!r}; "
                "pass the store that holds the dataset"
            )
        store = open_store(uri[: -len(key) - 1])
    try:
        data = store.get_json(key)
    except FileNotFoundError:
        raise DatasetError(
            f"the manifest of {version.ref} is missing at {store.uri(key)}; the object store "
            "was moved or cleaned: point storage_url at the store it was imported into, or "
            "import the dataset again"
        ) from None
    return Manifest(
        classes=list(data["classes"]),
        items=[item_from_json(it) for it in data["items"]],
        format=data.get("format", ""),
        scenario=data.get("scenario", "classification"),
        content_hash=data.get("content_hash", version.content_hash),
        store=store,
    )


__all__ = [
    "DatasetNotFoundError",
    "VersionInfo",
    "lineage",
    "list_datasets",
    "load_manifest",
    "resolve_version",
    "show_dataset",
]
