"""Labelling API: drafts of edits on a version, committed as a new version."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from autolearn.datasets.formats.base import DatasetError
from autolearn.datasets.labelling import add_edits, commit, get_draft, list_items, open_draft
from autolearn.datasets.service import import_dataset, load_manifest, resolve_version


@pytest.fixture
def colours(autolearn_home: Path, make_learnable_folder: Callable[..., Path]) -> str:
    make_learnable_folder(autolearn_home / "colours", {"red": 6, "blue": 6})
    return import_dataset(autolearn_home / "colours", name="colours").ref


@pytest.fixture
def boxes(autolearn_home: Path, make_image: Callable[..., Path]) -> str:
    root = autolearn_home / "det"
    rows = ["path,xmin,ymin,xmax,ymax,label"]
    for i in range(4):
        make_image(root / f"im{i}.png", seed=i, size=(40, 30))
        rows.append(f"im{i}.png,2,3,20,25,cup")
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    return import_dataset(root, name="det", fmt="csv").ref


def test_relabel_and_commit_makes_a_child_version(colours: str) -> None:
    items = list_items(colours)["items"]
    first = items[0]
    draft = open_draft(colours)
    new_label = "red" if first["label"] == "blue" else "blue"
    add_edits(draft["id"], [{"op": "set_label", "item": first["item"], "label": new_label}])
    assert get_draft(draft["id"])["edits"][0]["op"] == "set_label"
    assert resolve_version(colours).ref == "colours:v1"  # nothing changes before commit
    version = commit(draft["id"], "fix one label")
    assert version.ref == "colours:v2" and version.parent_id == resolve_version(colours).id
    edited = {i.sha256: i.label for i in load_manifest(version).items}
    assert edited[first["item"]] == new_label
    with pytest.raises(DatasetError, match="already committed"):
        commit(draft["id"])


def test_clear_label_lists_the_item_as_unlabelled(colours: str) -> None:
    item = list_items(colours)["items"][0]["item"]
    draft = open_draft(colours)
    add_edits(draft["id"], [{"op": "clear_label", "item": item}])
    assert [r["item"] for r in list_items(draft["id"], labelled=False)["items"]] == [item]
    assert list_items(draft["id"], labelled=True)["total"] == 11


def test_box_edits_add_move_delete(boxes: str) -> None:
    item = list_items(boxes)["items"][0]
    draft = open_draft(boxes)
    add_edits(
        draft["id"],
        [
            {"op": "add_class", "label": "plate"},
            {"op": "add_box", "item": item["item"], "label": "plate", "bbox": [1, 1, 10, 10]},
            {"op": "move_box", "item": item["item"], "index": 0, "bbox": [5, 5, 30, 28]},
        ],
    )
    add_edits(draft["id"], [{"op": "delete_box", "item": item["item"], "index": 1}])
    row = next(r for r in list_items(draft["id"])["items"] if r["item"] == item["item"])
    assert row["boxes"] == [{"label": "cup", "bbox": [5.0, 5.0, 30.0, 28.0]}]
    version = commit(draft["id"])
    manifest = load_manifest(version)
    assert "plate" in manifest.classes
    edited = next(i for i in manifest.items if i.sha256 == item["item"])
    assert [(b.x1, b.y2) for b in edited.boxes] == [(5.0, 28.0)]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"op": "set_label", "item": "nope", "label": "red"}, "no image"),
        ({"op": "set_label", "label": "red"}, "needs item"),
        ({"op": "rename", "item": "x"}, "op"),
    ],
)
def test_bad_edits_are_refused_and_nothing_is_saved(colours: str, edit: dict, message: str) -> None:
    draft = open_draft(colours)
    with pytest.raises(DatasetError, match=message):
        add_edits(draft["id"], [edit])
    assert get_draft(draft["id"])["edits"] == []


def test_unknown_class_and_out_of_image_box(colours: str, boxes: str) -> None:
    item = list_items(colours)["items"][0]["item"]
    draft = open_draft(colours)
    with pytest.raises(DatasetError, match="unknown class 'green'"):
        add_edits(draft["id"], [{"op": "set_label", "item": item, "label": "green"}])
    det = list_items(boxes)["items"][0]["item"]
    ddraft = open_draft(boxes)
    with pytest.raises(DatasetError, match="must satisfy"):
        add_edits(
            ddraft["id"], [{"op": "add_box", "item": det, "label": "cup", "bbox": [0, 0, 400, 10]}]
        )
    with pytest.raises(DatasetError, match="for detection datasets"):
        add_edits(
            draft["id"], [{"op": "add_box", "item": item, "label": "red", "bbox": [0, 0, 4, 4]}]
        )
    json.dumps(get_draft(ddraft["id"]))  # drafts are plain JSON
