"""Labelling: browse a version's items, edit labels and boxes in a draft, and commit
the draft as a new dataset version (the parent stays untouched).

A draft is a list of edits on top of one version, kept as JSON in the object store
(``datasets/<name>/drafts/<id>.json``, beside the manifests, so deleting a dataset
takes its drafts along): edits are cheap to add one request at a time (the console
will send one per click) and nothing changes until ``commit``.

Who may do what: opening a draft writes nothing, but committing it writes a version,
so only the dataset's owner or an admin may open one (a shared dataset is the
admins'). A draft records who opened it, and only they or an admin can see, edit,
commit or discard it: a draft id alone gives a member nothing.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections import OrderedDict
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, Field, TypeAdapter, ValidationError, model_validator

from autolearn.accounts.principal import Principal, may_access
from autolearn.datasets.formats.base import Box, DatasetError
from autolearn.datasets.manifest import ManifestItem
from autolearn.datasets.versions import DatasetNotFoundError, VersionInfo
from autolearn.storage import ObjectStore, default_store

Op = Literal["set_label", "clear_label", "add_box", "move_box", "delete_box", "add_class"]


class Edit(BaseModel):
    """One change. ``item`` is the image's sha256 (stable across versions)."""

    op: Op
    item: str | None = Field(default=None, description="sha256 of the image")
    label: str | None = Field(default=None, description="class for set_label / add_box")
    index: int | None = Field(default=None, ge=0, description="box index for move/delete")
    bbox: list[float] | None = Field(
        default=None, min_length=4, max_length=4, description="x1, y1, x2, y2 in pixels"
    )

    @model_validator(mode="after")
    def _fields_for_op(self) -> Edit:
        need = {
            "set_label": ("item", "label"),
            "clear_label": ("item",),
            "add_box": ("item", "label", "bbox"),
            "move_box": ("item", "index", "bbox"),
            "delete_box": ("item", "index"),
            "add_class": ("label",),
        }[self.op]
        missing = [f for f in need if getattr(self, f) is None]
        if missing:
            raise ValueError(f"{self.op} needs {', '.join(missing)}")
        return self


_EDITS = TypeAdapter(list[Edit])


LABEL_HINT = "only its owner or an admin may label it; import a copy under your own name"
SplitFilter = Literal["train", "val", "none"]
_DRAFT_ID = re.compile(r"^[0-9a-f]{32}$")
_DATASET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")  # as archive.check_name


class DraftNotFoundError(DatasetError, LookupError):
    """No draft with that id on that dataset that the caller may see."""


class ImageNotFoundError(DatasetNotFoundError):
    """The version has no image with that sha256."""


def _drafts(store: ObjectStore | None) -> ObjectStore:
    return store or default_store()


def _draft_key(dataset: str, draft_id: str) -> str:
    if not _DRAFT_ID.match(draft_id):
        raise DraftNotFoundError(
            f"draft id {draft_id!r} is not valid: a draft id is the 32 hex digits returned "
            "when the draft was opened"
        )
    if not _DATASET_NAME.match(dataset):
        raise DraftNotFoundError(f"no dataset named {dataset!r} has drafts")
    return f"datasets/{dataset}/drafts/{draft_id}.json"


def open_draft(
    ref: str, store: ObjectStore | None = None, actor: Principal | None = None
) -> dict[str, Any]:
    """Start editing version ``ref``; returns the draft (id, dataset, owner, base, edits)."""
    from autolearn.datasets.commit import ensure_writable
    from autolearn.datasets.versions import resolve_version

    version = resolve_version(ref, actor=actor)
    ensure_writable(version.dataset, actor, hint=LABEL_HINT)
    draft: dict[str, Any] = {
        "id": uuid.uuid4().hex,
        "dataset": version.dataset,
        "owner_id": actor.user_id if actor is not None else None,
        "version_id": version.id,
        "base": version.ref,
        "edits": [],
        "created_at": _now(),
        "committed": None,
    }
    _drafts(store).put_json(_draft_key(version.dataset, str(draft["id"])), draft)
    return draft


def get_draft(
    dataset: str, draft_id: str, store: ObjectStore | None = None, actor: Principal | None = None
) -> dict[str, Any]:
    """The draft ``draft_id`` of ``dataset``, if ``actor`` opened it (or is an admin)."""
    try:
        draft: dict[str, Any] = _drafts(store).get_json(_draft_key(dataset, draft_id))
    except FileNotFoundError:
        draft = {}
    if not draft or not may_access(actor, draft.get("owner_id")):
        raise DraftNotFoundError(
            f"dataset {dataset!r} has no draft {draft_id} of yours (a draft is seen only by "
            "whoever opened it, and by admins); open one on a version"
        )
    return draft


def list_drafts(
    dataset: str, store: ObjectStore | None = None, actor: Principal | None = None
) -> list[dict[str, Any]]:
    """The drafts on ``dataset`` that ``actor`` may see, oldest first (edits counted)."""
    from autolearn.datasets.versions import resolve_version

    resolve_version(dataset, actor=actor)  # a dataset actor may not read does not exist
    drafts = _drafts(store)
    found = []
    for key in drafts.list(f"datasets/{dataset}/drafts/"):
        draft = drafts.get_json(key)
        if may_access(actor, draft.get("owner_id")):
            found.append({k: v for k, v in draft.items() if k != "edits"})
            found[-1]["num_edits"] = len(draft["edits"])
    return sorted(found, key=lambda d: str(d["created_at"]))


def discard_draft(
    dataset: str, draft_id: str, store: ObjectStore | None = None, actor: Principal | None = None
) -> None:
    """Forget a draft and its edits (a committed draft's version stays)."""
    get_draft(dataset, draft_id, store, actor)
    _drafts(store).delete(_draft_key(dataset, draft_id))


def add_edits(
    dataset: str,
    draft_id: str,
    edits: list[dict[str, Any]],
    store: ObjectStore | None = None,
    actor: Principal | None = None,
) -> dict[str, Any]:
    """Validate ``edits`` against the draft's current state, then append them."""
    draft = get_draft(dataset, draft_id, store, actor)
    if draft["committed"]:
        raise DatasetError(
            f"draft {draft_id} was committed as {draft['committed']}; open a new one"
        )
    try:
        parsed = _EDITS.validate_python(edits)
    except ValidationError as exc:
        raise DatasetError(
            f"edits are invalid: {exc.errors()[0]['msg']} "
            f"(at {'.'.join(map(str, exc.errors()[0]['loc']))})"
        ) from None
    state = _state(draft)
    for edit in parsed:
        _apply(state, edit)  # raises on an edit that does not fit: nothing is saved
    draft["edits"] += [e.model_dump(exclude_none=True) for e in parsed]
    _drafts(store).put_json(_draft_key(dataset, draft_id), draft)
    return draft


def list_items(
    ref: str,
    labelled: bool | None = None,
    offset: int = 0,
    limit: int = 100,
    store: ObjectStore | None = None,
    *,
    split: SplitFilter | None = None,
    cls: str | None = None,
    actor: Principal | None = None,
) -> dict[str, Any]:
    """A page of version ``ref``'s items, optionally only the (un)labelled, one split
    (``none``: items without a fixed split) or the items showing class ``cls``."""
    state = _version_state(ref, actor)
    return {"version": state["ref"], **_page(state, labelled, offset, limit, split, cls)}


def list_draft_items(
    dataset: str,
    draft_id: str,
    labelled: bool | None = None,
    offset: int = 0,
    limit: int = 100,
    store: ObjectStore | None = None,
    *,
    split: SplitFilter | None = None,
    cls: str | None = None,
    actor: Principal | None = None,
) -> dict[str, Any]:
    """Like :func:`list_items`, for a draft: its base version with the edits applied."""
    draft = get_draft(dataset, draft_id, store, actor)
    state = _state(draft)
    return {"version": draft["base"], **_page(state, labelled, offset, limit, split, cls)}


def find_image(
    ref: str, sha256: str, actor: Principal | None = None
) -> tuple[ObjectStore, ManifestItem]:
    """The store holding version ``ref``'s image ``sha256`` and its manifest item."""
    from autolearn.datasets.versions import resolve_version

    version = resolve_version(ref, actor=actor)
    store, items = _image_index(version)
    if sha256 in items:
        return store, items[sha256]
    raise ImageNotFoundError(
        f"{version.ref} has no image with sha256 {sha256}; list its images for the ones it has"
    )


_INDEX: OrderedDict[str, tuple[ObjectStore, dict[str, ManifestItem]]] = OrderedDict()
_INDEX_SIZE = 8
_INDEX_LOCK = threading.Lock()


def _image_index(version: VersionInfo) -> tuple[ObjectStore, dict[str, ManifestItem]]:
    """sha256 → item of ``version``, kept for the last few versions asked about: a
    manifest never changes (its key is its content hash), and a page of thumbnails asks
    for the same one a hundred times."""
    from autolearn.datasets.versions import load_manifest

    key = version.manifest_uri
    with _INDEX_LOCK:
        if key in _INDEX:
            _INDEX.move_to_end(key)
            return _INDEX[key]
    manifest = load_manifest(version)
    found = (manifest.store, {item.sha256: item for item in manifest.items})
    with _INDEX_LOCK:
        _INDEX[key] = found
        while len(_INDEX) > _INDEX_SIZE:
            _INDEX.popitem(last=False)
    return found


def commit(
    dataset: str,
    draft_id: str,
    message: str = "",
    store: ObjectStore | None = None,
    actor: Principal | None = None,
) -> VersionInfo:
    """Write the edited items as a new version whose parent is the draft's base."""
    from autolearn.datasets.commit import commit_version
    from autolearn.datasets.versions import resolve_version

    draft = get_draft(dataset, draft_id, store, actor)
    if draft["committed"]:
        raise DatasetError(f"draft {draft_id} was already committed as {draft['committed']}")
    if not draft["edits"]:
        raise DatasetError(f"draft {draft_id} has no edits to commit")
    state = _state(draft)
    base = resolve_version(draft["version_id"])
    version = commit_version(
        base.dataset,
        list(state["items"].values()),
        state["classes"],
        state["scenario"],
        parent=base,
        source=f"labelling draft {draft_id}: {message or 'edits'}",
        report={"labelling": {"draft": draft_id, "edits": len(draft["edits"]), "message": message}},
        actor=actor,
    )
    draft["committed"] = version.ref
    _drafts(store).put_json(_draft_key(dataset, draft_id), draft)
    return version


def _page(
    state: dict[str, Any],
    labelled: bool | None,
    offset: int,
    limit: int,
    split: SplitFilter | None,
    cls: str | None,
) -> dict[str, Any]:
    """Filter and page the items of ``state`` (an unknown class is an error, not a
    silently empty page: it is more likely a typo)."""
    if cls is not None and cls not in state["classes"]:
        raise DatasetError(f"unknown class {cls!r}; the classes are: {', '.join(state['classes'])}")
    items: list[ManifestItem] = list(state["items"].values())
    if split is not None:
        items = [i for i in items if i.split == (None if split == "none" else split)]
    if cls is not None:
        items = [i for i in items if cls in i.classes]
    rows = [_row(item) for item in items]
    if labelled is not None:
        rows = [r for r in rows if r["labelled"] == labelled]
    return {
        "total": len(rows),
        "classes": state["classes"],
        "scenario": state["scenario"],
        "items": rows[offset : offset + limit],
    }


def _version_state(ref: str, actor: Principal | None = None) -> dict[str, Any]:
    from autolearn.datasets.versions import load_manifest, resolve_version

    version = resolve_version(ref, actor=actor)
    manifest = load_manifest(version)
    return {
        "ref": version.ref,
        "items": {i.sha256: i for i in manifest.items},
        "classes": list(manifest.classes),
        "scenario": manifest.scenario,
    }


def _state(draft: dict[str, Any]) -> dict[str, Any]:
    state = _version_state(str(draft["version_id"]))
    for raw in draft["edits"]:
        _apply(state, Edit.model_validate(raw))
    return state


def _apply(state: dict[str, Any], edit: Edit) -> None:
    """Apply one edit to the in-memory state; an edit that does not fit raises."""
    if edit.op == "add_class":
        if edit.label in state["classes"]:
            raise DatasetError(f"class {edit.label!r} exists already")
        state["classes"].append(edit.label)
        return
    items = state["items"]
    if edit.item not in items:
        raise DatasetError(f"no image with sha256 {edit.item} in this version")
    item = items[edit.item]
    if edit.label is not None and edit.label not in state["classes"]:
        raise DatasetError(
            f"unknown class {edit.label!r}; add it first (op add_class) or use "
            f"one of: {', '.join(state['classes'])}"
        )
    items[edit.item] = _edited(item, edit, state["scenario"])


def _edited(item: Any, edit: Edit, scenario: str) -> Any:
    if edit.op in ("set_label", "clear_label"):
        if scenario != "classification":
            raise DatasetError(f"{edit.op} is for classification datasets; use box edits")
        return replace(item, label=edit.label if edit.op == "set_label" else None)
    if scenario != "detection":
        raise DatasetError(f"{edit.op} is for detection datasets; use set_label")
    boxes = list(item.boxes or ())
    if edit.op == "add_box":
        return replace(item, boxes=(*boxes, _box(edit.label, edit.bbox, item)))
    if edit.index is None or edit.index >= len(boxes):
        raise DatasetError(
            f"image {item.sha256[:12]} has {len(boxes)} boxes; no index {edit.index}"
        )
    if edit.op == "delete_box":
        del boxes[edit.index]
    else:
        boxes[edit.index] = _box(boxes[edit.index].label, edit.bbox, item)
    return replace(item, boxes=tuple(boxes))


def _box(label: str | None, bbox: list[float] | None, item: Any) -> Box:
    assert label is not None and bbox is not None
    x1, y1, x2, y2 = (round(float(v), 2) for v in bbox)
    if not (0 <= x1 < x2 <= item.width and 0 <= y1 < y2 <= item.height):
        raise DatasetError(
            f"box {bbox} must satisfy 0 ≤ x1 < x2 ≤ {item.width} and "
            f"0 ≤ y1 < y2 ≤ {item.height} for image {item.sha256[:12]}"
        )
    return Box(label, x1, y1, x2, y2)


def _row(item: Any) -> dict[str, Any]:
    boxes = [{"label": b.label, "bbox": [b.x1, b.y1, b.x2, b.y2]} for b in item.boxes or ()]
    labelled = item.label is not None if item.boxes is None else True
    return {
        "sha256": item.sha256,
        "item": item.sha256,  # what an edit names
        "file_name": PurePosixPath(item.source_path).name if item.source_path else "",
        "blob": item.blob,
        "split": item.split,
        "label": item.label,
        "boxes": boxes if item.boxes is not None else None,
        "labelled": labelled,
        "width": item.width,
        "height": item.height,
        "source_path": item.source_path,
    }


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()
