"""Safe sources: the source path, the dataset name, zip extraction and folder checks,
all before any image is opened.

A zip is checked entry by entry before a single byte is extracted: no entry may
land outside the extraction folder (``..``, absolute paths, drive letters), none
may be a symbolic link, and the number of files and their declared uncompressed
size must stay within ``settings.import_max_files`` / ``import_max_bytes``. The
extraction counts the bytes it really writes too, so a header that lies about a
size cannot get past the limit. A source folder gets the same limits, and may hold
no symbolic link that resolves outside it and no FIFO or device file.

Every refusal raises ``DatasetImportError`` with a one-row report (see
``report.CODES``) naming the entry and what to do about it.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from autolearn.datasets.report import ImportReport, refuse

_CHUNK = 1 << 20
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


@dataclass(frozen=True)
class Limits:
    max_files: int
    max_bytes: int

    @classmethod
    def from_settings(cls) -> Limits:
        from autolearn.settings import get_settings

        s = get_settings()
        return cls(max_files=s.import_max_files, max_bytes=s.import_max_bytes)


def _too_many(where: str, n: int, limits: Limits, report: ImportReport | None) -> Exception:
    return refuse(
        "too_many_files",
        where,
        f"holds {n:,} files, more than the limit of {limits.max_files:,}; split the dataset "
        "or raise AUTOLEARN_IMPORT_MAX_FILES",
        report,
    )


def _too_large(where: str, size: int, limits: Limits, report: ImportReport | None) -> Exception:
    return refuse(
        "too_large",
        where,
        f"holds {size:,} bytes (uncompressed), more than the limit of {limits.max_bytes:,}; "
        "split the dataset or raise AUTOLEARN_IMPORT_MAX_BYTES",
        report,
    )


def _plan(
    zf: zipfile.ZipFile, archive: Path, root: Path, limits: Limits, report: ImportReport | None
) -> list[tuple[zipfile.ZipInfo, Path]]:
    plan: list[tuple[zipfile.ZipInfo, Path]] = []
    files = 0
    declared = 0
    for info in zf.infolist():
        where = f"{archive.name}:{info.filename}"
        raw = info.filename.replace("\\", "/")
        parts = [p for p in raw.split("/") if p not in ("", ".")]
        if raw.startswith("/") or re.match(r"^[A-Za-z]:", raw):
            raise refuse(
                "zip_absolute_path",
                where,
                f"zip entry {info.filename!r} in {archive.name} has an absolute path and would "
                "be written outside the extraction folder; refusing the archive (re-create it "
                "with relative paths)",
                report,
            )
        target = root.joinpath(*parts).resolve() if parts else root
        if ".." in parts or not target.is_relative_to(root):
            raise refuse(
                "zip_slip",
                where,
                f"zip entry {info.filename!r} in {archive.name} would be written outside the "
                "extraction folder ('..'); refusing the archive (re-create it with relative paths)",
                report,
            )
        if stat.S_ISLNK(info.external_attr >> 16):
            raise refuse(
                "zip_symlink",
                where,
                f"zip entry {info.filename!r} in {archive.name} is a symbolic link; refusing "
                "the archive (re-create it with the linked files themselves)",
                report,
            )
        if not info.is_dir():
            files += 1
            declared += info.file_size
        plan.append((info, target))
    if files > limits.max_files:
        raise _too_many(archive.name, files, limits, report)
    if declared > limits.max_bytes:
        raise _too_large(archive.name, declared, limits, report)
    return plan


def extract_zip(
    archive: Path, dest: Path, limits: Limits | None = None, report: ImportReport | None = None
) -> None:
    """Extract ``archive`` into the empty folder ``dest`` after checking every entry."""
    limits = limits or Limits.from_settings()
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise refuse(
            "zip_unreadable",
            archive.name,
            f"{archive.name} is not a readable zip archive ({exc}); re-create the archive",
            report,
        ) from None
    root = dest.resolve()
    written = 0
    with zf:
        plan = _plan(zf, archive, root, limits, report)
        for info, target in plan:
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zf.open(info) as fin, open(target, "wb") as fout:
                    while chunk := fin.read(_CHUNK):
                        written += len(chunk)
                        if written > limits.max_bytes:
                            raise _too_large(archive.name, written, limits, report)
                        fout.write(chunk)
            except (zipfile.BadZipFile, RuntimeError, OSError, EOFError, ValueError) as exc:
                raise refuse(
                    "zip_entry_unreadable",
                    f"{archive.name}:{info.filename}",
                    f"zip entry {info.filename!r} in {archive.name} cannot be extracted ({exc}); "
                    "re-create the archive",
                    report,
                ) from None


def check_folder(
    root: Path, limits: Limits | None = None, report: ImportReport | None = None
) -> None:
    """Refuse a source folder with links leaving it, special files, or over the limits."""
    limits = limits or Limits.from_settings()
    real_root = Path(os.path.realpath(root))
    files = 0
    size = 0
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            try:
                st = path.lstat()
            except OSError:
                continue  # vanished while we looked; the format will not see it either
            if stat.S_ISLNK(st.st_mode):
                target = Path(os.path.realpath(path))
                if not target.is_relative_to(real_root):
                    rel = path.relative_to(root).as_posix()
                    raise refuse(
                        "symlink_escape",
                        str(path),
                        f"{rel} is a symbolic link to {target}, outside the dataset folder; "
                        "copy the file into the folder instead of linking it",
                        report,
                    )
                if name in filenames:  # a link to a file inside: counted as that file
                    files += 1
                    size += target.stat().st_size if target.is_file() else 0
                continue
            if name in dirnames:
                continue
            if not stat.S_ISREG(st.st_mode):
                raise refuse(
                    "special_file",
                    str(path),
                    f"{path.relative_to(root).as_posix()} is not a regular file (FIFO, socket "
                    "or device); remove it from the dataset folder",
                    report,
                )
            files += 1
            size += st.st_size
        if files > limits.max_files:
            raise _too_many(str(root), files, limits, report)
        if size > limits.max_bytes:
            raise _too_large(str(root), size, limits, report)


def local_source(source: str | Path, report: ImportReport) -> Path:
    """The local path of ``source`` (a path or ``file://`` URI): a folder or a ``.zip``."""
    text = str(source)
    if text.startswith("file://"):
        from autolearn.storage.local import path_from_file_uri

        text = str(path_from_file_uri(text))
    elif re.match(r"^[A-Za-z][A-Za-z0-9+.-]+://", text):
        raise refuse(
            "source_missing",
            text,
            f"cannot import from {text!r}: only local folders, .zip files, file:// "
            "URIs and storage URIs (s3://) are supported; download the data first",
            report,
        )
    path = Path(os.path.abspath(Path(text).expanduser()))  # keep the user's name for links
    if not path.exists():
        raise refuse(
            "source_missing", str(path), f"{path} does not exist; check the dataset path", report
        )
    if path.is_file() and path.suffix.lower() != ".zip":
        raise refuse(
            "source_missing",
            str(path),
            f"{path} is neither a folder nor a .zip archive; pass a dataset folder or a .zip",
            report,
        )
    return path


def sanitize_name(stem: str) -> str:
    """A valid dataset name made from a folder or file name."""
    name = re.sub(r"[^a-z0-9._-]+", "-", stem.lower())
    name = re.sub(r"-{2,}", "-", name).strip("-._")[:128].strip("-._")
    if not name:
        return "dataset"
    return f"dataset-{name}" if name.isdigit() else name


def check_name(name: str, report: ImportReport) -> None:
    """Refuse a dataset name that could not be a reference (``name:vN``, ``name@hash``)."""
    if not _NAME_RE.match(name) or name.isdigit():
        raise refuse(
            "bad_name",
            "",
            f"dataset name {name!r} is not allowed; use 1-128 letters, digits, "
            "'.', '_' or '-', starting with a letter or digit and not only digits "
            "(e.g. 'ants-bees')",
            report,
        )


@contextmanager
def source_folder(src: Path, report: ImportReport) -> Iterator[tuple[Path, str]]:
    """The folder to read (a zip extracted into a temporary folder, always removed) and
    the prefix that names its files in the report (``<archive>:`` or empty)."""
    limits = Limits.from_settings()
    if src.is_dir():
        check_folder(src, limits, report)
        yield src, ""
        return
    from autolearn.settings import get_settings

    tmp_root = get_settings().home / "tmp"
    tmp_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="import-", dir=tmp_root) as tmp:
        extract_zip(src, Path(tmp), limits, report)
        yield Path(tmp), f"{src.name}:"


__all__ = [
    "Limits",
    "check_folder",
    "check_name",
    "extract_zip",
    "local_source",
    "sanitize_name",
    "source_folder",
]
