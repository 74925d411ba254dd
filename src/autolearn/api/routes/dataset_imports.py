"""``/api/v1/datasets/{name}/upload`` and ``/import``: new dataset versions over HTTP.

An upload is the ``.zip`` itself as the request body (``Content-Type: application/zip``),
streamed to a temporary file: no form encoding, so ``curl --data-binary @x.zip`` and
the SDK send the file as it is. The HTTP layer enforces its own limits, tighter than
the importer's: ``upload_max_bytes`` on the body (refused from ``Content-Length`` before
reading, and counted while reading for chunked or lying clients) and
``upload_max_files`` on the archive's entries before anything is extracted. The import
itself then runs as on the command line (validation, policy, report) and its refusals
come back as 422 ``import_refused`` with the report.

Importing from a path on the server, or from a storage URI with the server's
credentials (``s3://…``), is for admins only: a member must not be able to make the
server read its files or buckets.
"""

from __future__ import annotations

import re
import tempfile
import zipfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.requests import ClientDisconnect

from autolearn.accounts import Principal
from autolearn.api.deps import Actor, Admin
from autolearn.api.errors import error_body
from autolearn.api.routes.datasets import Name

router = APIRouter(prefix="/api/v1/datasets", tags=["datasets"])
ZIP_TYPES = frozenset(
    {"application/zip", "application/x-zip-compressed", "application/octet-stream"}
)
Scenario = Literal["classification", "detection"]
Policy = Literal["strict", "lenient"]
_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


class ImportBody(BaseModel):
    source: str = Field(
        min_length=1,
        max_length=4096,
        description="A folder or .zip on the server (path or file:// URI), or a storage "
        "URI: s3://bucket/prefix/ (every object under it) or s3://bucket/data.zip.",
    )
    format: str = Field(default="auto", max_length=64, description="A format name, or auto.")
    policy: Policy = Field(default="strict", description="strict refuses on any bad image.")
    description: str = Field(default="", max_length=2000)
    scenario: Scenario | None = Field(default=None, description="Refuse data of another kind.")
    shared: bool = Field(
        default=False, description="No owner: every user may read it, only admins change it."
    )


def writable_name(name: Name, actor: Actor) -> str:
    """``name`` if it is a valid dataset name ``actor`` may add versions to.

    A dependency, so that it answers (422, 403) before a byte of the body is read.
    """
    from autolearn.datasets.archive import check_name
    from autolearn.datasets.commit import ensure_writable
    from autolearn.datasets.report import ImportReport

    check_name(name, ImportReport(source="upload"))
    ensure_writable(name, actor)
    return name


WritableName = Annotated[str, Depends(writable_name)]


@router.post(
    "/{name}/upload",
    status_code=status.HTTP_201_CREATED,
    response_model=None,
    summary="Upload a .zip as a new version (the raw body, Content-Type: application/zip)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
    responses={
        200: {"description": "Identical content: the existing version."},
        413: {"description": "Over upload_max_bytes or upload_max_files."},
        415: {"description": "The body is not sent as application/zip."},
        422: {"description": "The import was refused; the error carries the report."},
    },
)
async def upload(
    request: Request,
    response: Response,
    name: WritableName,
    actor: Actor,
    fmt: str = Query("auto", alias="format", max_length=64, description="A format, or auto."),
    policy: Policy = Query("strict", description="strict refuses on any bad image."),
    description: str = Query("", max_length=2000),
    scenario: Scenario | None = Query(None, description="Refuse data of another kind."),
    filename: str = Query("", max_length=255, description="The file's own name, for messages."),
) -> dict[str, Any] | JSONResponse:
    """Validates and imports the archive as the next version of ``name`` (created, owned
    by the caller, if it does not exist): 201 with the version, or 200 with the existing
    version when the content is identical to one."""
    from autolearn.settings import get_settings

    settings = get_settings()
    _check_format(fmt)
    refused = _check_headers(request, settings.upload_max_bytes)
    if refused is not None:
        return refused
    tmp_root = settings.home / "tmp"
    tmp_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="upload-", dir=tmp_root) as tmp:
        archive = Path(tmp) / _archive_name(filename, name)
        try:
            size = await _receive(request, archive, settings.upload_max_bytes)
        except ClientDisconnect:  # nobody is left to answer; logged and counted as such
            return _refuse(400, "upload_incomplete", "the client left before the upload ended")
        refused = _check_received(size, settings.upload_max_bytes)
        refused = refused or await run_in_threadpool(
            _check_files, archive, settings.upload_max_files
        )
        if refused is not None:
            return refused
        version, created = await run_in_threadpool(
            _import, archive, name, fmt, description, policy, scenario, actor
        )
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/api/v1/datasets/{name}/versions/{version['number']}"
    return version


@router.post(
    "/{name}/import",
    status_code=status.HTTP_201_CREATED,
    summary="Import a folder or .zip on the server as a new version (admins)",
    responses={200: {"description": "Identical content: the existing version."}},
)
def import_(name: Name, body: ImportBody, response: Response, actor: Admin) -> dict[str, Any]:
    """For data already on the server (a mounted share); ``shared`` makes a dataset every
    user can read. Members upload instead: they may not read the server's files."""
    _check_format(body.format)
    owner = None if body.shared else actor
    version, created = _import(
        body.source, name, body.format, body.description, body.policy, body.scenario, owner
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return version


def _check_headers(request: Request, limit: int) -> JSONResponse | None:
    """Refuse from the headers alone: the wrong content type, or a declared size over
    ``limit`` (so a client does not send gigabytes to learn that)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in ZIP_TYPES:
        return _refuse(
            415,
            "unsupported_media_type",
            f"send the .zip file itself as the request body with Content-Type: application/zip "
            f"(got {kind or 'no content type'}; multipart forms are not accepted)",
        )
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        return _too_large(limit)
    return None


def _check_format(fmt: str) -> None:
    """An unknown format is refused before the upload is read (the error lists them)."""
    from autolearn.datasets.formats import get_format

    if fmt != "auto":
        get_format(fmt)


async def _receive(request: Request, dest: Path, limit: int) -> int | None:
    """Write the body to ``dest``; the bytes written, or None once more than ``limit``
    arrived (reading stops there; the caller's temporary folder goes with the file).
    Chunks are small page-cache writes: cheaper inline than a thread hop each."""
    size = 0
    with dest.open("wb") as fh:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                return None
            fh.write(chunk)
    return size


def _check_received(size: int | None, limit: int) -> JSONResponse | None:
    if size is None:
        return _too_large(limit)
    if size == 0:
        return _refuse(422, "empty_upload", "the request body is empty; send the .zip file")
    return None


def _check_files(archive: Path, limit: int) -> JSONResponse | None:
    """Count the files in the zip's central directory before anything is extracted (an
    unreadable zip passes: the importer then reports why it cannot be read)."""
    try:
        with zipfile.ZipFile(archive) as zf:
            files = sum(1 for info in zf.infolist() if not info.is_dir())
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    if files <= limit:
        return None
    return _refuse(
        413,
        "upload_too_many_files",
        f"{archive.name} holds {files:,} files, more than the {limit:,} an upload may hold; "
        "split it into several datasets or ask an admin to import it from the server",
    )


def _import(
    source: str | Path,
    name: str,
    fmt: str,
    description: str,
    policy: Policy,
    scenario: Scenario | None,
    actor: Principal | None,
) -> tuple[dict[str, Any], bool]:
    """Run the import; the version and whether it is new (identical content returns an
    existing one, and the latest version id before tells which)."""
    from autolearn.datasets.service import DatasetNotFoundError, import_dataset, resolve_version

    try:
        before: int | None = resolve_version(name).id
    except DatasetNotFoundError:
        before = None
    shown = f"upload {source.name}" if isinstance(source, Path) else None
    version = import_dataset(
        source,
        name=name,
        fmt=fmt,
        description=description,
        policy=policy,
        scenario=scenario,
        actor=actor,
        source_name=shown,
    )
    return version.to_dict(), before is None or version.id > before


def _archive_name(filename: str, name: str) -> str:
    """A safe local name for the upload that still reads like the sender's file."""
    stem = _FILENAME.sub("-", Path(filename.replace("\\", "/")).name).strip("-.")
    stem = stem[:-4] if stem.lower().endswith(".zip") else stem
    return f"{stem[:100] or name[:100]}.zip"


def _too_large(limit: int) -> JSONResponse:
    return _refuse(
        413,
        "upload_too_large",
        f"the upload is larger than the {limit:,} bytes the server accepts; split the dataset "
        "into several uploads or ask an admin to import it from the server",
    )


def _refuse(code_status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=code_status, content=error_body(code, message))
