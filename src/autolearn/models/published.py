"""Published model versions: a task's model (``model.pt``) or one of its optimised ONNX
files copied out of the task's folder into ``models/<name>/v<N>/`` in the platform's
store, with a row in ``model_versions`` and a model card.

Why a copy: a deployed service must keep running exactly what was published, whatever
happens to the task later (deleted, resumed, its optimisation re-run). Why a status: the
row is written ``publishing`` first and turns ``ready`` only after every file is copied,
so a crash halfway never leaves a version that looks usable; a failure removes what was
copied and the row.

Every function takes ``actor`` (``None``: the embedded local operator, who sees
everything); another member's version answers as not found, as tasks and datasets do.
References: ``name:vN``, ``name`` (its latest ready version) or the numeric id.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from typing import IO, Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from autolearn.accounts.principal import Principal, may_access, owner_filter
from autolearn.db import Task, session_scope
from autolearn.db.models import ModelVersion, Service, iso, utcnow
from autolearn.storage import ObjectStore, default_store, open_store
from autolearn.tasks import results
from autolearn.tasks.service import task_row

PYTORCH = "pytorch"
READY, PUBLISHING, DELETING = "ready", "publishing", "deleting"
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
PROFILE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,31}$")
CARD_FILE = "model_card.json"
VERSION_ATTEMPTS = 5  # concurrent publishes of one name: retry the next number
LIBRARIES = ("torch", "torchvision", "onnxruntime", "autolearn")


class ModelVersionError(ValueError):
    """A request about a published model that cannot be done as asked."""


class ModelVersionNotFoundError(ModelVersionError, LookupError):
    """No such version (or not the caller's)."""


class ModelVersionInUseError(ModelVersionError):
    """The version is deployed: a service would lose its model."""


class ModelNameTakenError(ModelVersionError):
    """The name belongs to another user's versions."""


class PublishRefusedError(ModelVersionError):
    """The artifact may not be published (no model yet, an optimisation refused, …)."""


# -- references ---------------------------------------------------------------------------


def parse_ref(ref: str | int) -> tuple[int | None, str | None, int | None]:
    """``(id, name, version)`` from ``12``, ``name`` or ``name:v3`` (also ``name:3``)."""
    text = str(ref).strip()
    if _is_number(text):
        return int(text), None, None
    name, sep, number = text.partition(":")
    if not sep:
        return None, name, None
    digits = number.lower().removeprefix("v")
    if not _is_number(digits):
        raise ModelVersionNotFoundError(
            f"model reference {text!r} is not name, name:vN or an id (e.g. digits:v2)"
        )
    return None, name, int(digits)


def _is_number(text: str) -> bool:
    """ASCII digits only ("²".isdigit() is true, and int() refuses it), within 32 bits."""
    return text.isascii() and text.isdigit() and int(text) < 2**31


def version_row(
    s: Session, ref: str | int, actor: Principal | None, lock: bool = False
) -> ModelVersion:
    """The version ``ref`` names if ``actor`` may see it; a bare name means its latest
    ready version. Anything else is "not found", with how to list what exists."""
    vid, name, number = parse_ref(ref)
    query = select(ModelVersion)
    if vid is not None:
        query = query.where(ModelVersion.id == vid)
    elif number is not None:
        query = query.where(ModelVersion.name == name, ModelVersion.version == number)
    else:
        query = query.where(ModelVersion.name == name, ModelVersion.status == READY)
        query = query.order_by(ModelVersion.version.desc()).limit(1)
    owner = owner_filter(actor)
    if owner is not None:
        query = query.where(ModelVersion.owner_id == owner)
    row = s.scalars(query.with_for_update() if lock else query).first()
    if row is None or not may_access(actor, row.owner_id):
        raise ModelVersionNotFoundError(
            f"model version {ref} does not exist; `autolearn model list` shows them"
        )
    return row


def version_view(row: ModelVersion, full: bool = False) -> dict[str, Any]:
    """A version as lists show it; ``full`` adds the metadata and the model card."""
    view: dict[str, Any] = {
        "id": row.id,
        "ref": f"{row.name}:v{row.version}",
        "name": row.name,
        "version": row.version,
        "owner_id": row.owner_id,
        "task_id": row.task_id,
        "scenario": row.scenario,
        "profile": row.profile,
        "format": row.format,
        "status": row.status,
        "size_bytes": row.size_bytes,
        "classes": list((row.meta or {}).get("classes") or []),
        "metrics": row.metrics,
        "description": row.description,
        "artifact_uri": row.artifact_uri,
        "created_at": iso(row.created_at),
    }
    if full:
        view["meta"] = row.meta
        view["card"] = row.card
    return view


# -- publish ------------------------------------------------------------------------------


def publish(
    task_id: int,
    name: str,
    profile: str = PYTORCH,
    description: str = "",
    actor: Principal | None = None,
) -> dict[str, Any]:
    """Copy a task's model (``profile`` ``pytorch``) or its optimised ONNX file for
    ``profile`` into the store as the next version of ``name``; returns the version."""
    _check_name(name, profile)
    with session_scope() as s:
        task = task_row(s, task_id, actor)
        source = _source(task, profile)
        card = model_card(task, source)
        scenario, output_uri = task.scenario, task.output_uri
    row_id, number = _reserve(name, task_id, scenario, source, card, description, actor)
    card = {**card, "ref": f"{name}:v{number}"}
    target = default_store().child(f"models/{name}/v{number}")
    try:
        size = _copy_files(open_store(output_uri), target, source, card)
        with session_scope() as s:
            row = s.get(ModelVersion, row_id)
            if row is None:  # deleted while publishing: nothing may stay behind
                raise ModelVersionError(f"{name}:v{number} was deleted while it was published")
            row.size_bytes, row.status = size, READY
            return version_view(row, full=True)
    except BaseException:
        _undo(row_id, target)
        raise


def _check_name(name: str, profile: str) -> None:
    if not NAME.match(name or ""):
        raise ModelVersionError(
            f"name {name!r}: use 1-64 letters, digits, '_', '-' or '.', starting with a "
            f"letter (references are name:vN, so no ':')"
        )
    if not PROFILE.match(profile or ""):
        raise ModelVersionError(
            f"profile {profile!r}: use 'pytorch' or an optimisation profile id such as cpu-int8"
        )


def _source(task: Task, profile: str) -> dict[str, Any]:
    """What to copy from the task's folder and what to record, checked before anything
    is written: the artifact exists, and an optimised one is ``ready``."""
    store = open_store(task.output_uri) if task.output_uri else None
    if profile == PYTORCH:
        return _pytorch_source(task, store)
    return _onnx_source(task, store, profile)


def _pytorch_source(task: Task, store: ObjectStore | None) -> dict[str, Any]:
    if store is None or not store.exists(results.MODEL_KEY) or not store.exists(results.META_KEY):
        raise PublishRefusedError(
            f"task {task.id} has no finished model yet (status {task.status}); a model can be "
            f"published once its task has ended after at least one validated epoch"
        )
    meta = store.get_json(results.META_KEY)
    report = store.get_json(results.REPORT_KEY) if store.exists(results.REPORT_KEY) else {}
    metrics = (report or {}).get("metrics") or meta.get("metrics") or {}
    return {
        "profile": PYTORCH,
        "format": "pytorch",
        "files": {results.MODEL_KEY: "model.pt", results.META_KEY: "meta.json"},
        "artifact": "model.pt",
        "meta": meta,
        "metrics": metrics,
    }


def _onnx_source(task: Task, store: ObjectStore | None, profile: str) -> dict[str, Any]:
    """An optimised profile: ``model.onnx`` (ONNX Runtime engines) or ``model.pt`` (a GPU
    profile compiled with torch.compile, whose metadata says so)."""
    artifact = "model.onnx"
    if store is not None and store.exists(results.optimized_key(profile, "model.pt")):
        artifact = "model.pt"
    model_key = results.optimized_key(profile, artifact)
    report_key = results.optimized_key(profile, "report.json")
    if store is None or not store.exists(report_key):
        raise PublishRefusedError(
            f"task {task.id} has no optimised model for profile {profile!r}; optimise it first "
            f"(or publish profile 'pytorch')"
        )
    report = store.get_json(report_key)
    status = str(report.get("status"))
    if status != READY:
        raise PublishRefusedError(_refusal(task.id, profile, status, report))
    if not store.exists(model_key):
        raise PublishRefusedError(f"task {task.id}'s {profile} report is ready but has no model")
    return {
        "profile": profile,
        "format": "onnx" if artifact == "model.onnx" else "pytorch",
        "files": {model_key: artifact, report_key: "optimization_report.json"},
        "artifact": artifact,
        "meta": report.get("meta") or {},
        "metrics": report.get("after") or {},
    }


def _refusal(task_id: int, profile: str, status: str, report: dict[str, Any]) -> str:
    """Why an optimised model may not be published, with the report's own numbers."""
    numbers = {k: report[k] for k in ("before", "after", "reason", "message") if k in report}
    detail = "; ".join(f"{k}: {v}" for k, v in numbers.items())
    return f"task {task_id}'s {profile} model is {status}, only a 'ready' one can be published" + (
        f" ({detail})" if detail else ""
    )


def _library_versions() -> dict[str, str | None]:
    """Installed versions (from the package metadata, so nothing is imported)."""
    found: dict[str, str | None] = {}
    for name in LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def model_card(task: Task, source: dict[str, Any]) -> dict[str, Any]:
    """What a reader of the model needs to trust it: where its data came from, the
    form it was trained with, its metrics and the software that made it."""
    version = task.dataset_version
    return {
        "task_id": task.id,
        "task_name": task.name,
        "scenario": task.scenario,
        "profile": source["profile"],
        "format": source["format"],
        "dataset": {
            "ref": version.ref if version is not None else None,
            "content_hash": version.content_hash if version is not None else None,
        },
        "spec": task.spec,
        "metrics": source["metrics"],
        "classes": source["meta"].get("classes"),
        "input_size": source["meta"].get("input_size"),
        "libraries": _library_versions(),
        "created_at": iso(utcnow()),
    }


def _reserve(
    name: str,
    task_id: int,
    scenario: str,
    source: dict[str, Any],
    card: dict[str, Any],
    description: str,
    actor: Principal | None,
) -> tuple[int, int]:
    """Write the ``publishing`` row with the next free number; a concurrent publish of
    the same name that took it first makes this one try the next."""
    for _ in range(VERSION_ATTEMPTS):
        try:
            with session_scope() as s:
                number = _next_number(s, name, actor)
                row = ModelVersion(
                    owner_id=actor.user_id if actor is not None else None,
                    name=name,
                    version=number,
                    task_id=task_id,
                    scenario=scenario,
                    profile=source["profile"],
                    format=source["format"],
                    status=PUBLISHING,
                    artifact_uri=default_store().uri(
                        f"models/{name}/v{number}/{source['artifact']}"
                    ),
                    size_bytes=0,
                    meta=source["meta"],
                    metrics=source["metrics"],
                    card={**card, "ref": f"{name}:v{number}"},
                    description=description,
                )
                s.add(row)
                s.flush()
                return row.id, number
        except IntegrityError:
            continue
    raise ModelVersionError(f"could not number a new version of {name!r}; try again")


def _next_number(s: Session, name: str, actor: Principal | None) -> int:
    owners = set(s.scalars(select(ModelVersion.owner_id).where(ModelVersion.name == name)))
    mine = actor.user_id if actor is not None else None
    if owners and not (actor is None or actor.is_admin) and owners != {mine}:
        raise ModelNameTakenError(f"the model name {name!r} is taken; choose another name")
    top = s.scalar(select(func.max(ModelVersion.version)).where(ModelVersion.name == name))
    return int(top or 0) + 1


def _copy_files(
    source_store: ObjectStore, target: ObjectStore, source: dict[str, Any], card: dict[str, Any]
) -> int:
    """Copy every file (streamed through a temporary file, so a large model never sits
    in memory) and write the card; returns the artifact's size in bytes."""
    size = 0
    for key, filename in source["files"].items():
        with source_store.open(key) as src, _spooled(src) as path:
            target.put_file(filename, path)
            if filename == source["artifact"]:
                size = _file_size(path)
    target.put_json(CARD_FILE, card)
    return size


@contextmanager
def _spooled(handle: IO[bytes]) -> Iterator[str]:
    with tempfile.NamedTemporaryFile(prefix="autolearn-publish-", suffix=".part") as tmp:
        shutil.copyfileobj(handle, tmp, 1024 * 1024)
        tmp.flush()
        yield tmp.name


def _file_size(path: str) -> int:
    return os.path.getsize(path)


def _undo(row_id: int, target: ObjectStore) -> None:
    """A failed publish leaves nothing: the copied files, then the row."""
    try:
        target.delete("")
    finally:
        with session_scope() as s:
            row = s.get(ModelVersion, row_id)
            if row is not None:
                s.delete(row)


# -- read, download, delete ---------------------------------------------------------------


def list_versions(
    name: str | None = None,
    limit: int = 50,
    offset: int = 0,
    actor: Principal | None = None,
) -> dict[str, Any]:
    """The caller's versions, newest first (``name``: only that model's), and the total."""
    where = []
    if name:
        where.append(ModelVersion.name == name)
    owner = owner_filter(actor)
    if owner is not None:
        where.append(ModelVersion.owner_id == owner)
    with session_scope() as s:
        total = s.scalar(select(func.count()).select_from(ModelVersion).where(*where)) or 0
        rows = s.scalars(
            select(ModelVersion)
            .where(*where)
            .order_by(ModelVersion.created_at.desc(), ModelVersion.id.desc())
            .limit(limit)
            .offset(offset)
        )
        items = [version_view(r) for r in rows]
    return {"items": items, "total": total, "limit": limit, "offset": offset}


def get_version(ref: str | int, actor: Principal | None = None) -> dict[str, Any]:
    """One version with its metadata, metrics, card and the services that use it."""
    with session_scope() as s:
        row = version_row(s, ref, actor)
        view = version_view(row, full=True)
        view["services"] = [
            {"id": sid, "name": sname, "status": status}
            for sid, sname, status in s.execute(
                select(Service.id, Service.name, Service.status)
                .where(Service.model_version_id == row.id)
                .order_by(Service.id)
            )
        ]
    return view


def ready_version(ref: str | int, actor: Principal | None = None) -> dict[str, Any]:
    """A version that can be downloaded or served (``ready``), else why not."""
    view = get_version(ref, actor)
    if view["status"] != READY:
        raise ModelVersionError(
            f"model version {view['ref']} is {view['status']}; only a ready version can be "
            f"downloaded or deployed"
        )
    return view


def open_artifact(ref: str | int, actor: Principal | None = None) -> tuple[dict[str, Any], IO]:
    """The version and a read stream of its artifact (the caller closes it)."""
    view = ready_version(ref, actor)
    folder, _, filename = view["artifact_uri"].rpartition("/")
    return view, open_store(folder).open(filename)


def artifact_filename(view: dict[str, Any]) -> str:
    """``<name>-v<N>.pt`` or ``.onnx``: what a download is saved as."""
    suffix = ".onnx" if view["format"] == "onnx" else ".pt"
    return f"{view['name']}-v{view['version']}{suffix}"


def delete_version(ref: str | int, actor: Principal | None = None) -> dict[str, Any]:
    """Remove a version no service uses: the row is marked first (so it can no longer be
    deployed), then its files go, then the row."""
    with session_scope() as s:
        row = version_row(s, ref, actor, lock=True)
        users = s.execute(
            select(Service.id, Service.name).where(Service.model_version_id == row.id)
        ).all()
        if users:
            listed = ", ".join(f"{sid} ({sname})" for sid, sname in users)
            raise ModelVersionInUseError(
                f"model version {row.name}:v{row.version} is used by service(s) {listed}; "
                f"delete those services first (`autolearn service delete ID`)"
            )
        row.status = DELETING
        view = version_view(row)
    folder = view["artifact_uri"].rpartition("/")[0]
    open_store(folder).delete("")
    with session_scope() as s:
        row_now = s.get(ModelVersion, view["id"])
        if row_now is not None:
            s.delete(row_now)
    return {"id": view["id"], "ref": view["ref"], "deleted": True}
