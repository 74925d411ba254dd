"""Labelling: drafts of edits on a version, committed as a new version; who may see a
draft; browsing items by split and class."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from autolearn.accounts import Principal
from autolearn.datasets.commit import DatasetPermissionError
from autolearn.datasets.formats.base import DatasetError
from autolearn.datasets.labelling import (
    DraftNotFoundError,
    ImageNotFoundError,
    add_edits,
    commit,
    discard_draft,
    find_image,
    get_draft,
    list_draft_items,
    list_drafts,
    list_items,
    open_draft,
)
from autolearn.datasets.service import (
    DatasetNotFoundError,
    import_dataset,
    load_manifest,
    resolve_version,
)
from autolearn.storage.local import path_from_file_uri


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
    add_edits(
        "colours", draft["id"], [{"op": "set_label", "item": first["item"], "label": new_label}]
    )
    assert get_draft("colours", draft["id"])["edits"][0]["op"] == "set_label"
    assert resolve_version(colours).ref == "colours:v1"  # nothing changes before commit
    version = commit("colours", draft["id"], "fix one label")
    assert version.ref == "colours:v2" and version.parent_id == resolve_version(colours).id
    edited = {i.sha256: i.label for i in load_manifest(version).items}
    assert edited[first["item"]] == new_label
    with pytest.raises(DatasetError, match="already committed"):
        commit("colours", draft["id"])


def test_clear_label_lists_the_item_as_unlabelled(colours: str) -> None:
    item = list_items(colours)["items"][0]["item"]
    draft = open_draft(colours)
    add_edits("colours", draft["id"], [{"op": "clear_label", "item": item}])
    assert [
        r["item"] for r in list_draft_items("colours", draft["id"], labelled=False)["items"]
    ] == [item]
    assert list_draft_items("colours", draft["id"], labelled=True)["total"] == 11


def test_box_edits_add_move_delete(boxes: str) -> None:
    item = list_items(boxes)["items"][0]
    draft = open_draft(boxes)
    add_edits(
        "det",
        draft["id"],
        [
            {"op": "add_class", "label": "plate"},
            {"op": "add_box", "item": item["item"], "label": "plate", "bbox": [1, 1, 10, 10]},
            {"op": "move_box", "item": item["item"], "index": 0, "bbox": [5, 5, 30, 28]},
        ],
    )
    add_edits("det", draft["id"], [{"op": "delete_box", "item": item["item"], "index": 1}])
    row = next(
        r for r in list_draft_items("det", draft["id"])["items"] if r["item"] == item["item"]
    )
    assert row["boxes"] == [{"label": "cup", "bbox": [5.0, 5.0, 30.0, 28.0]}]
    version = commit("det", draft["id"])
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
        add_edits("colours", draft["id"], [edit])
    assert get_draft("colours", draft["id"])["edits"] == []


def test_unknown_class_and_out_of_image_box(colours: str, boxes: str) -> None:
    item = list_items(colours)["items"][0]["item"]
    draft = open_draft(colours)
    with pytest.raises(DatasetError, match="unknown class 'green'"):
        add_edits("colours", draft["id"], [{"op": "set_label", "item": item, "label": "green"}])
    det = list_items(boxes)["items"][0]["item"]
    ddraft = open_draft(boxes)
    with pytest.raises(DatasetError, match="must satisfy"):
        add_edits(
            "det",
            ddraft["id"],
            [{"op": "add_box", "item": det, "label": "cup", "bbox": [0, 0, 400, 10]}],
        )
    with pytest.raises(DatasetError, match="for detection datasets"):
        add_edits(
            "colours",
            draft["id"],
            [{"op": "add_box", "item": item, "label": "red", "bbox": [0, 0, 4, 4]}],
        )
    json.dumps(get_draft("det", ddraft["id"]))  # drafts are plain JSON


def _principal(name: str, role: str = "member") -> Principal:
    from autolearn.accounts.service import create_user

    user = create_user(name, role, password=f"{name}-password-123")  # type: ignore[arg-type]
    return Principal(user["id"], name, role)  # type: ignore[arg-type]


def test_a_draft_belongs_to_its_opener_and_lives_with_its_dataset(
    autolearn_home: Path, make_learnable_folder: Callable[..., Path], colours: str
) -> None:
    bob, alice, root = _principal("bob"), _principal("alice"), _principal("root", "admin")
    folder = make_learnable_folder(autolearn_home / "bobs", {"red": 3, "blue": 3}, seed=1)
    ref = import_dataset(folder, name="bobs", actor=bob).ref
    draft = open_draft(ref, actor=bob)
    assert (draft["dataset"], draft["owner_id"]) == ("bobs", bob.user_id)
    assert (
        autolearn_home / "store" / "datasets" / "bobs" / "drafts" / f"{draft['id']}.json"
    ).exists()
    for who in (bob, root, None):
        assert get_draft("bobs", draft["id"], actor=who)["id"] == draft["id"]
    with pytest.raises(DraftNotFoundError):
        get_draft("bobs", draft["id"], actor=alice)
    with pytest.raises(DraftNotFoundError):
        get_draft("colours", draft["id"], actor=bob)  # the id under another dataset
    with pytest.raises(DatasetNotFoundError):
        open_draft(ref, actor=alice)  # bob's dataset does not exist for her
    with pytest.raises(DatasetPermissionError, match="shared read-only; only its owner"):
        open_draft(colours, actor=alice)  # shared: readable, not hers to change
    theirs = open_draft(ref, actor=root)
    assert [d["id"] for d in list_drafts("bobs", actor=bob)] == [draft["id"]]
    assert {d["id"] for d in list_drafts("bobs", actor=root)} == {draft["id"], theirs["id"]}
    discard_draft("bobs", draft["id"], actor=bob)
    with pytest.raises(DraftNotFoundError):
        get_draft("bobs", draft["id"], actor=bob)


def test_items_filter_by_split_and_class_and_find_image(colours: str) -> None:
    from autolearn.datasets.splitting import split_version

    split = split_version(colours, val_percent=50).ref
    val = list_items(split, split="val")
    assert val["total"] == 6 and {r["split"] for r in val["items"]} == {"val"}
    assert list_items(split, split="none")["total"] == 0
    reds = list_items(split, cls="red", split="train")
    assert reds["total"] == 3 and {r["label"] for r in reds["items"]} == {"red"}
    with pytest.raises(DatasetError, match="unknown class 'green'; the classes are: blue, red"):
        list_items(split, cls="green")
    sha = reds["items"][0]["sha256"]
    store, item = find_image(split, sha)
    assert store.get_bytes(item.blob)[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ImageNotFoundError, match="has no image with sha256"):
        find_image(split, "0" * 64)
    # a manifest never changes: a page of thumbnails reads it once, not once per image
    path_from_file_uri(resolve_version(split).manifest_uri).unlink()
    assert find_image(split, sha)[1] == item
