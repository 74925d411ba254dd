"""Labelling API: browse a version's items, edit labels and boxes in a draft, and
commit the draft as a new dataset version (the parent stays untouched).

A draft is a list of edits on top of one version, kept as JSON in the object store
(``datasets/<name>/drafts/<id>.json``): edits are cheap to add one request at a time
(the console will send one per click) and nothing changes until ``commit``.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, Field, TypeAdapter, ValidationError, model_validator

from autolearn.datasets.formats.base import Box, DatasetError
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


class DraftNotFoundError(DatasetError, LookupError):
    """No draft with that id."""


def _drafts(store: ObjectStore | None) -> ObjectStore:
    return store or default_store()


def _draft_key(draft_id: str) -> str:
    if not draft_id.isalnum():
        raise DraftNotFoundError(f"draft id {draft_id!r} is not valid")
    return f"drafts/{draft_id}.json"


def open_draft(ref: str, store: ObjectStore | None = None) -> dict[str, Any]:
    """Start editing version ``ref``; returns the draft (id, base version, edits)."""
    from autolearn.datasets.service import resolve_version

    version = resolve_version(ref)
    draft = {
        "id": uuid.uuid4().hex,
        "version_id": version.id,
        "base": version.ref,
        "edits": [],
        "created_at": _now(),
        "committed": None,
    }
    _drafts(store).put_json(_draft_key(str(draft["id"])), draft)
    return draft


def get_draft(draft_id: str, store: ObjectStore | None = None) -> dict[str, Any]:
    try:
        draft: dict[str, Any] = _drafts(store).get_json(_draft_key(draft_id))
    except FileNotFoundError:
        raise DraftNotFoundError(f"draft {draft_id} does not exist") from None
    return draft


def add_edits(
    draft_id: str, edits: list[dict[str, Any]], store: ObjectStore | None = None
) -> dict[str, Any]:
    """Validate ``edits`` against the draft's current state, then append them."""
    draft = get_draft(draft_id, store)
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
    _drafts(store).put_json(_draft_key(draft_id), draft)
    return draft


def list_items(
    draft_or_ref: str,
    labelled: bool | None = None,
    offset: int = 0,
    limit: int = 100,
    store: ObjectStore | None = None,
) -> dict[str, Any]:
    """Items of a version (or of a draft, edits applied), optionally only the (un)labelled."""
    state = (
        _state(get_draft(draft_or_ref, store))
        if _is_draft(draft_or_ref, store)
        else _version_state(draft_or_ref)
    )
    rows = [_row(item) for item in state["items"].values()]
    if labelled is not None:
        rows = [r for r in rows if r["labelled"] == labelled]
    return {
        "total": len(rows),
        "classes": state["classes"],
        "scenario": state["scenario"],
        "items": rows[offset : offset + limit],
    }


def commit(draft_id: str, message: str = "", store: ObjectStore | None = None) -> Any:
    """Write the edited items as a new version whose parent is the draft's base."""
    from autolearn.datasets.service import commit_version, resolve_version

    draft = get_draft(draft_id, store)
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
    )
    draft["committed"] = version.ref
    _drafts(store).put_json(_draft_key(draft_id), draft)
    return version


def _is_draft(key: str, store: ObjectStore | None) -> bool:
    return key.isalnum() and len(key) == 32 and _drafts(store).exists(_draft_key(key))


def _version_state(ref: str) -> dict[str, Any]:
    from autolearn.datasets.service import load_manifest, resolve_version

    version = resolve_version(ref)
    manifest = load_manifest(version)
    return {
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
        "item": item.sha256,
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
