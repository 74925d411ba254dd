"""The data center's service layer: import, version, look up and read datasets.

An import validates every image first, then writes the images content-addressed
(``blobs/<sha[:2]>/<sha256><ext>``), then the manifest
(``datasets/<name>/<content_hash>/manifest.json``), and only then records the
version in the database, in one transaction. A failure at any step leaves no
database row, so a dataset version is visible only once it is complete.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import stat
import statistics
import tempfile
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from autolearn.datasets.formats import (
    DatasetError,
    DatasetImportError,
    RawItem,
    detect_format,
    get_format,
    unwrap,
)
from autolearn.db import Dataset, DatasetVersion, session_scope
from autolearn.storage import LocalStore, ObjectStore, default_store, open_store

MANIFEST_VERSION = 1
MAX_LISTED_PROBLEMS = 10
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_EXT_BY_FORMAT = {
    "JPEG": ".jpg",
    "PNG": ".png",
    "BMP": ".bmp",
    "GIF": ".gif",
    "WEBP": ".webp",
    "TIFF": ".tif",
    "MPO": ".jpg",
}


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

    @property
    def train_counts(self) -> dict[str, int]:
        """Images per class available for training (``train``, or ``all`` without fixed val)."""
        return dict(self.class_counts.get("train") or self.class_counts.get("all") or {})

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


@dataclass(frozen=True)
class ManifestItem:
    blob: str
    label: str
    split: str | None
    sha256: str
    source_path: str = ""


@dataclass
class Manifest:
    """A version's classes and items, with image reads through its object store."""

    classes: list[str]
    items: list[ManifestItem]
    format: str
    scenario: str
    content_hash: str
    store: ObjectStore = field(repr=False)

    @property
    def has_fixed_val(self) -> bool:
        return any(item.split == "val" for item in self.items)

    def items_in(self, split: str | None) -> list[ManifestItem]:
        return [item for item in self.items if item.split == split]

    def open_image(self, item: ManifestItem) -> Image.Image:
        """The item's image as RGB, rotated upright by its EXIF orientation."""
        if isinstance(self.store, LocalStore):
            img = Image.open(self.store.path(item.blob))
        else:
            img = Image.open(io.BytesIO(self.store.get_bytes(item.blob)))
        with img:
            upright = ImageOps.exif_transpose(img)
            return to_rgb(upright if upright is not None else img)


def to_rgb(img: Image.Image) -> Image.Image:
    """Convert any Pillow mode to RGB (palette transparency and 16-bit handled)."""
    if img.mode == "RGB":
        return img
    if img.mode in ("P", "PA") and "transparency" in img.info:
        img = img.convert("RGBA")
    elif img.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        import numpy as np

        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") else max(float(arr.max()), 255.0)
        arr = np.clip(arr * (255.0 / top), 0, 255).astype(np.uint8)
        img = Image.fromarray(arr)
    return img.convert("RGB")


# --------------------------------------------------------------------------- import


@dataclass
class _Checked:
    item: RawItem
    rel: str
    sha256: str
    ext: str
    width: int
    height: int
    mode: str
    fmt: str


def import_dataset(
    source: str | Path,
    name: str | None = None,
    fmt: str = "auto",
    description: str = "",
    store: ObjectStore | None = None,
    engine: Engine | None = None,
) -> VersionInfo:
    """Import a folder or ``.zip`` as a new version of dataset ``name``.

    Identical content (same images, labels and splits) returns the existing version.
    """
    src = _local_source(source)
    if name is None:
        name = sanitize_name(src.stem if src.is_file() else src.name)
    _check_name(name)
    store = store or default_store()
    if src.is_file():
        if src.suffix.lower() != ".zip":
            raise DatasetImportError(
                f"{src} is neither a folder nor a .zip archive; pass a dataset folder or a .zip"
            )
        from autolearn.settings import get_settings

        tmp_root = get_settings().home / "tmp"
        tmp_root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="import-", dir=tmp_root) as tmp:
            _extract_zip(src, Path(tmp))
            return _import_folder(
                Path(tmp), f"{src.name}:", str(src), name, fmt, description, store, engine
            )
    return _import_folder(src, "", str(src), name, fmt, description, store, engine)


def _local_source(source: str | Path) -> Path:
    text = str(source)
    if text.startswith("file://"):
        from autolearn.storage.local import path_from_file_uri

        text = str(path_from_file_uri(text))
    elif re.match(r"^[A-Za-z][A-Za-z0-9+.-]+://", text):
        raise DatasetImportError(
            f"cannot import from {text!r}: only local folders, .zip files and file:// URIs "
            "are supported; download the data first"
        )
    path = Path(os.path.abspath(Path(text).expanduser()))  # keep the user's name for links
    if not path.exists():
        raise DatasetImportError(f"{path} does not exist; check the dataset path")
    return path


def sanitize_name(stem: str) -> str:
    """A valid dataset name made from a folder or file name."""
    name = re.sub(r"[^a-z0-9._-]+", "-", stem.lower())
    name = re.sub(r"-{2,}", "-", name).strip("-._")[:128].strip("-._")
    if not name:
        return "dataset"
    return f"dataset-{name}" if name.isdigit() else name


def _check_name(name: str) -> None:
    if not _NAME_RE.match(name) or name.isdigit():
        raise DatasetImportError(
            f"dataset name {name!r} is not allowed; use 1-128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit and not only digits (e.g. 'ants-bees')"
        )


def _extract_zip(archive: Path, dest: Path) -> None:
    """Extract ``archive`` into ``dest``, refusing entries that would land outside it."""
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DatasetImportError(
            f"{archive} is not a readable zip archive ({exc}); re-create the archive"
        ) from None
    root = dest.resolve()
    with zf:
        plan: list[tuple[zipfile.ZipInfo, Path]] = []
        for info in zf.infolist():
            raw = info.filename.replace("\\", "/")
            parts = [p for p in raw.split("/") if p not in ("", ".")]
            target = root.joinpath(*parts).resolve() if parts else root
            escapes = (
                raw.startswith("/")
                or re.match(r"^[A-Za-z]:", raw) is not None
                or ".." in parts
                or not target.is_relative_to(root)
            )
            if escapes:
                raise DatasetImportError(
                    f"zip entry {info.filename!r} in {archive.name} would be written outside the "
                    "extraction folder; refusing the archive (re-create it with relative paths)"
                )
            if stat.S_ISLNK(info.external_attr >> 16):
                raise DatasetImportError(
                    f"zip entry {info.filename!r} in {archive.name} is a symbolic link; refusing "
                    "the archive (re-create it with the linked files themselves)"
                )
            plan.append((info, target))
        for info, target in plan:
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zf.open(info) as fin, open(target, "wb") as fout:
                    shutil.copyfileobj(fin, fout)
            except (zipfile.BadZipFile, RuntimeError, OSError, EOFError) as exc:
                raise DatasetImportError(
                    f"zip entry {info.filename!r} in {archive.name} cannot be extracted ({exc}); "
                    "re-create the archive"
                ) from None


def _import_folder(
    folder: Path,
    label_prefix: str,
    source: str,
    name: str,
    fmt: str,
    description: str,
    store: ObjectStore,
    engine: Engine | None,
) -> VersionInfo:
    root = unwrap(folder)
    fmt_name = detect_format(root) if fmt == "auto" else fmt
    dataset_format = get_format(fmt_name)
    raw = dataset_format.read(root)
    if not raw:
        raise DatasetImportError(f"no images found in {source}; add images in class folders")

    def display(item: RawItem) -> str:
        rel = item.path.relative_to(folder).as_posix()
        return f"{label_prefix}{rel}" if label_prefix else str(item.path)

    checked, problems = _check_images(raw, root, display)
    if problems:
        listed = "\n  ".join(problems[:MAX_LISTED_PROBLEMS])
        more = len(problems) - MAX_LISTED_PROBLEMS
        tail = f"\n  … and {more} more" if more > 0 else ""
        raise DatasetImportError(
            f"{len(problems)} image(s) cannot be read; re-export or remove them and import "
            f"again:\n  {listed}{tail}",
            problems,
        )
    checked = _normalise_splits(checked)
    classes = _check_classes(checked)
    content_hash = compute_content_hash(
        ((c.sha256, c.item.label, c.item.split) for c in checked), classes
    )
    has_val = any(c.item.split == "val" for c in checked)
    counts = _class_counts(checked, classes, has_val)
    report = _report(checked, classes, counts, has_val)

    existing = _find_existing(name, content_hash, engine)
    if existing is not None:
        return existing

    written: set[str] = set()
    for c in checked:
        key = blob_key(c.sha256, c.ext)
        if key not in written and not store.exists(key):
            store.put_file(key, str(c.item.path))
        written.add(key)
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "content_hash": content_hash,
        "format": dataset_format.name,
        "scenario": dataset_format.scenario,
        "classes": classes,
        "items": [
            {
                "blob": blob_key(c.sha256, c.ext),
                "label": c.item.label,
                "split": c.item.split,
                "sha256": c.sha256,
                "source_path": c.rel,
            }
            for c in checked
        ],
    }
    manifest_uri = store.put_json(manifest_key(name, content_hash), manifest)
    return _record_version(
        engine,
        name=name,
        description=description,
        scenario=dataset_format.scenario,
        content_hash=content_hash,
        manifest_uri=manifest_uri,
        classes=classes,
        class_counts=counts,
        num_images=len(checked),
        has_fixed_val=has_val,
        source=source,
        report=report,
    )


def blob_key(sha256: str, ext: str) -> str:
    return f"blobs/{sha256[:2]}/{sha256}{ext}"


def manifest_key(name: str, content_hash: str) -> str:
    return f"datasets/{name}/{content_hash}/manifest.json"


def compute_content_hash(triples: Iterable[tuple[str, str, str | None]], classes: list[str]) -> str:
    """sha256 over the sorted (image sha256, label, split) triples and the class list."""
    rows = sorted([sha, label, split or ""] for sha, label, split in triples)
    payload = json.dumps({"classes": list(classes), "items": rows}, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _check_one(item: RawItem, root: Path, shown: str) -> _Checked | str:
    try:
        data = item.path.read_bytes()
    except OSError as exc:
        return f"{shown}: cannot be read ({exc.strerror or exc}); check its permissions"
    if not data:
        return f"{shown}: the file is empty; replace it with the real image or remove it"
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt = img.format or ""
            img.verify()
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            mode = img.mode
            width, height = img.size
            if img.getexif().get(0x0112) in (5, 6, 7, 8):
                width, height = height, width
            if mode != "RGB":
                to_rgb(img)
    except Exception as exc:  # Pillow raises many kinds; each means "not a usable image"
        return f"{shown}: {_explain(exc)}"
    ext = _EXT_BY_FORMAT.get(fmt, item.path.suffix.lower())
    return _Checked(
        item=item,
        rel=item.path.relative_to(root).as_posix(),
        sha256=hashlib.sha256(data).hexdigest(),
        ext=ext,
        width=width,
        height=height,
        mode=mode,
        fmt=fmt,
    )


def _explain(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    if "truncated" in text.lower():
        return f"{text}: the file is incomplete (interrupted copy?); replace or remove it"
    if "cannot identify image file" in text:
        return "not an image Pillow can read (wrong extension or corrupt); replace or remove it"
    if isinstance(exc, Image.DecompressionBombError):
        return f"{text}; downscale the image or remove it"
    return f"{text}; the image is corrupt: re-export or remove it"


def _check_images(
    raw: list[RawItem], root: Path, display: Callable[[RawItem], str]
) -> tuple[list[_Checked], list[str]]:
    workers = max(1, min(8, os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda it: _check_one(it, root, display(it)), raw))
    checked = [r for r in results if isinstance(r, _Checked)]
    problems = [r for r in results if isinstance(r, str)]
    return checked, problems


def _normalise_splits(checked: list[_Checked]) -> list[_Checked]:
    splits = {c.item.split for c in checked}
    if None in splits and len(splits) > 1:
        raise DatasetImportError(
            "some images have a train/val split and others none; give every image a split "
            "or none of them"
        )
    if splits == {"train"}:  # a train folder without a validation folder: no fixed val
        for c in checked:
            c.item = RawItem(path=c.item.path, label=c.item.label, split=None)
    return checked


def _check_classes(checked: list[_Checked]) -> list[str]:
    classes = sorted({c.item.label for c in checked})
    if len(classes) < 2:
        found = f"1 class ({classes[0]!r})" if classes else "no classes"
        raise DatasetImportError(
            f"found {found}; a classifier needs at least 2 classes: add a folder of images "
            "for each further class"
        )
    train = {c.item.label for c in checked if c.item.split in ("train", None)}
    val_only = Counter(c.item.label for c in checked if c.item.label not in train)
    if val_only:
        listed = ", ".join(f"{cls} ({n} val images)" for cls, n in sorted(val_only.items()))
        raise DatasetImportError(
            f"the validation set has classes missing from train: {listed}; add training "
            "images for them or remove them from the validation folder"
        )
    return classes


def _class_counts(
    checked: list[_Checked], classes: list[str], has_val: bool
) -> dict[str, dict[str, int]]:
    def count(split: str | None) -> dict[str, int]:
        c = Counter(x.item.label for x in checked if x.item.split == split)
        return {cls: c.get(cls, 0) for cls in classes}

    if has_val:
        return {"train": count("train"), "val": count("val")}
    return {"all": count(None)}


def _report(
    checked: list[_Checked], classes: list[str], counts: dict[str, dict[str, int]], has_val: bool
) -> dict[str, Any]:
    def stats(values: list[int]) -> dict[str, float]:
        return {"min": min(values), "median": statistics.median(values), "max": max(values)}

    modes = Counter(c.mode for c in checked)
    converted = {m: n for m, n in sorted(modes.items()) if m != "RGB"}
    examples = {m: [c.rel for c in checked if c.mode == m][:5] for m in converted}
    by_sha: dict[str, set[tuple[str, str | None]]] = {}
    for c in checked:
        by_sha.setdefault(c.sha256, set()).add((c.item.label, c.item.split))
    sha_counts = Counter(c.sha256 for c in checked)
    conflicting = sorted(
        c.rel for c in checked if len({label for label, _ in by_sha[c.sha256]}) > 1
    )
    cross_split = sorted(
        c.rel
        for c in checked
        if c.item.split == "val" and any(split == "train" for _, split in by_sha[c.sha256])
    )
    warnings: list[str] = []
    if converted:
        listed = ", ".join(f"{n} '{m}'" for m, n in converted.items())
        warnings.append(f"{listed} image(s) are converted to RGB when read")
    if has_val:
        missing = [cls for cls in classes if counts["val"].get(cls, 0) == 0]
        if missing:
            warnings.append(f"no validation images for: {', '.join(missing)}")
    if conflicting:
        warnings.append(
            f"{len(conflicting)} image(s) appear under different classes, e.g. {conflicting[0]}"
        )
    if cross_split:
        warnings.append(
            f"{len(cross_split)} validation image(s) also appear in train, e.g. {cross_split[0]}"
        )
    return {
        "num_images": len(checked),
        "num_classes": len(classes),
        "counts": counts,
        "image_size": {
            "width": stats([c.width for c in checked]),
            "height": stats([c.height for c in checked]),
        },
        "formats": dict(sorted(Counter(c.fmt for c in checked).items())),
        "modes": dict(sorted(modes.items())),
        "modes_converted": converted,
        "converted_examples": examples,
        "duplicates": {
            "extra_copies": sum(n - 1 for n in sha_counts.values()),
            "conflicting_labels": conflicting[:20],
            "val_in_train": cross_split[:20],
        },
        "warnings": warnings,
    }


# --------------------------------------------------------------------------- database


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


def _record_version(engine: Engine | None, **fields: Any) -> VersionInfo:
    for attempt in range(3):
        try:
            with session_scope(engine) as s:
                return _insert_version(s, **fields)
        except IntegrityError:  # another process created the dataset at the same moment
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _insert_version(
    s: Session,
    *,
    name: str,
    description: str,
    scenario: str,
    content_hash: str,
    **values: Any,
) -> VersionInfo:
    # Write first, read after: the no-op UPDATE takes the write lock (SQLite) or the row
    # lock (PostgreSQL), so two imports cannot both claim the same version number.
    s.execute(update(Dataset).where(Dataset.name == name).values(name=name))
    ds = s.scalar(select(Dataset).where(Dataset.name == name))
    if ds is None:
        ds = Dataset(name=name, description=description, scenario=scenario)
        s.add(ds)
        s.flush()
    elif description:
        ds.description = description
    same = s.scalar(
        select(DatasetVersion)
        .where(DatasetVersion.dataset_id == ds.id, DatasetVersion.content_hash == content_hash)
        .order_by(DatasetVersion.number)
        .limit(1)
    )
    if same is not None:
        return _info(same)
    latest = _latest(s, ds.id)
    version = DatasetVersion(
        dataset=ds,
        number=latest.number + 1 if latest else 1,
        parent_id=latest.id if latest else None,
        content_hash=content_hash,
        **values,
    )
    s.add(version)
    s.flush()
    return _info(version)


def _latest(s: Session, dataset_id: int) -> DatasetVersion | None:
    return s.scalar(
        select(DatasetVersion)
        .where(DatasetVersion.dataset_id == dataset_id)
        .order_by(DatasetVersion.number.desc())
        .limit(1)
    )


# --------------------------------------------------------------------------- lookups


def resolve_version(ref: str | int, engine: Engine | None = None) -> VersionInfo:
    """Find a version by ``name``, ``name:vN``/``name:N``, ``name@<hash prefix>`` or id."""
    text = str(ref).strip()
    with session_scope(engine) as s:
        if text.isdigit():
            v = s.get(DatasetVersion, int(text))
            if v is None:
                raise DatasetNotFoundError(
                    f"no dataset version with id {text}; {_known_datasets(s)}"
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
            ds = _dataset(s, name)
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
            if not digits.isdigit():
                raise DatasetError(
                    f"{text!r} is not a dataset reference; write name, name:vN, name@<hash> "
                    "or a version id"
                )
            ds = _dataset(s, name)
            for v in ds.versions:
                if v.number == int(digits):
                    return _info(v)
            raise DatasetNotFoundError(
                f"dataset {name!r} has no version v{int(digits)}; {_known_versions(ds)}"
            )
        ds = _dataset(s, text)
        if not ds.versions:
            raise DatasetNotFoundError(f"dataset {text!r} has no versions yet; import one")
        return _info(ds.versions[-1])


def _dataset(s: Session, name: str) -> Dataset:
    ds = s.scalar(
        select(Dataset).where(Dataset.name == name).options(selectinload(Dataset.versions))
    )
    if ds is None:
        raise DatasetNotFoundError(f"no dataset named {name!r}; {_known_datasets(s)}")
    return ds


def _known_datasets(s: Session) -> str:
    names = list(s.scalars(select(Dataset.name).order_by(Dataset.name).limit(51)))
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


def list_datasets(engine: Engine | None = None) -> list[dict[str, Any]]:
    """One summary row per dataset, by name."""
    rows: list[dict[str, Any]] = []
    with session_scope(engine) as s:
        for ds in s.scalars(
            select(Dataset).order_by(Dataset.name).options(selectinload(Dataset.versions))
        ):
            latest = ds.versions[-1] if ds.versions else None
            rows.append(
                {
                    "name": ds.name,
                    "description": ds.description,
                    "scenario": ds.scenario,
                    "versions": len(ds.versions),
                    "latest": latest.ref if latest else None,
                    "num_images": latest.num_images if latest else 0,
                    "classes": list(latest.classes) if latest else [],
                }
            )
    return rows


def show_dataset(name: str, engine: Engine | None = None) -> dict[str, Any]:
    """A dataset with every version (oldest first)."""
    with session_scope(engine) as s:
        ds = _dataset(s, name)
        versions = [_info(v).to_dict() for v in ds.versions]
        created = ds.created_at
        if created.tzinfo is None:
            created = created.replace(tzinfo=timezone.utc)
        return {
            "name": ds.name,
            "description": ds.description,
            "scenario": ds.scenario,
            "created_at": created.isoformat(),
            "latest": versions[-1]["ref"] if versions else None,
            "versions": versions,
        }


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
    items = [
        ManifestItem(
            blob=it["blob"],
            label=it["label"],
            split=it.get("split"),
            sha256=it["sha256"],
            source_path=it.get("source_path", ""),
        )
        for it in data["items"]
    ]
    return Manifest(
        classes=list(data["classes"]),
        items=items,
        format=data.get("format", ""),
        scenario=data.get("scenario", "classification"),
        content_hash=data.get("content_hash", version.content_hash),
        store=store,
    )


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
    "DatasetError",
    "DatasetImportError",
    "DatasetNotFoundError",
    "Manifest",
    "ManifestItem",
    "VersionInfo",
    "blob_key",
    "compute_content_hash",
    "ensure_sample",
    "import_dataset",
    "list_datasets",
    "load_manifest",
    "manifest_key",
    "resolve_version",
    "sanitize_name",
    "show_dataset",
    "to_rgb",
]
