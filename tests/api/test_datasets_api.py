"""The data center over REST: datasets, versions by number or hash, JSON 404s, a
version's images with their boxes and bytes, labelling drafts, deleting a dataset."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from autolearn.accounts import Principal
from autolearn.datasets.service import import_dataset


def test_list_show_and_versions(
    client: TestClient, autolearn_home: Path, make_learnable_folder: Callable[..., Path]
) -> None:
    version = import_dataset(
        make_learnable_folder(autolearn_home / "colours", {"red": 6, "blue": 6}), name="colours"
    )
    listed = client.get("/api/v1/datasets").json()
    assert [(d["name"], d["latest"], d["num_images"]) for d in listed] == [
        ("colours", "colours:v1", 12)
    ]
    shown = client.get("/api/v1/datasets/colours").json()
    assert [v["ref"] for v in shown["versions"]] == ["colours:v1"]
    for ref in ("1", "v1", f"@{version.content_hash[:8]}"):
        got = client.get(f"/api/v1/datasets/colours/versions/{ref}")
        assert got.status_code == 200, (ref, got.text)
        assert got.json()["content_hash"] == version.content_hash
    missing = client.get("/api/v1/datasets/colours/versions/v9")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "dataset_not_found"
    assert "v1" in missing.json()["error"]["message"]  # says which versions exist
    bad = client.get("/api/v1/datasets/colours/versions/@xyz")
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_dataset"


def test_unknown_dataset_is_404(client: TestClient) -> None:
    response = client.get("/api/v1/datasets/nope")
    assert response.status_code == 404
    assert "no dataset named 'nope'" in response.json()["error"]["message"]


# ----------------------------------------------------------------------------- images


def write_coco(root: Path, make_image: Callable[..., Path]) -> Path:
    """A COCO detection set of 5 images 40×30: cups, one plate, two negatives."""
    names = ["a.png", "b.png", "c.png", "d.png", "e.png"]
    for seed, name in enumerate(names):
        make_image(root / "images" / name, seed=seed, size=(40, 30))
    anns = [
        (1, 1, [1, 2, 10, 5]),
        (2, 1, [0, 0, 8, 8]),
        (2, 2, [4, 4, 20, 10]),
        (4, 1, [2, 2, 9, 9]),
    ]
    data = {
        "images": [
            {"id": i, "file_name": n, "width": 40, "height": 30} for i, n in enumerate(names, 1)
        ],
        "annotations": [
            {"id": k, "image_id": img, "category_id": cat, "bbox": bbox, "iscrowd": 0}
            for k, (img, cat, bbox) in enumerate(anns, 1)
        ],
        "categories": [{"id": 1, "name": "cup"}, {"id": 2, "name": "plate"}],
    }
    (root / "annotations").mkdir(parents=True)
    (root / "annotations" / "instances_default.json").write_text(json.dumps(data))
    return root


@pytest.fixture
def trays(autolearn_home: Path, make_image: Callable[..., Path]) -> str:
    folder = write_coco(autolearn_home / "trays", make_image)
    return import_dataset(folder, name="trays").ref


def test_images_are_paged_with_their_boxes(client: TestClient, trays: str) -> None:
    first = client.get("/api/v1/datasets/trays/versions/1/images", params={"limit": 2}).json()
    assert (first["total"], first["scenario"], first["classes"]) == (
        5,
        "detection",
        ["cup", "plate"],
    )
    rest = client.get(
        "/api/v1/datasets/trays/versions/v1/images", params={"limit": 2, "offset": 2}
    ).json()
    rows = first["items"] + rest["items"]
    last = client.get("/api/v1/datasets/trays/versions/1/images", params={"offset": 4}).json()
    rows += last["items"]
    assert len(rows) == 5 and len({r["sha256"] for r in rows}) == 5
    by_name = {r["file_name"]: r for r in rows}
    assert by_name["b.png"]["boxes"] == [
        {"label": "cup", "bbox": [0.0, 0.0, 8.0, 8.0]},
        {"label": "plate", "bbox": [4.0, 4.0, 24.0, 14.0]},
    ]
    assert by_name["c.png"]["boxes"] == [] and by_name["c.png"]["label"] is None
    assert (by_name["a.png"]["width"], by_name["a.png"]["height"]) == (40, 30)
    assert by_name["a.png"]["url"].endswith(f"/versions/1/images/{by_name['a.png']['sha256']}")
    plates = client.get("/api/v1/datasets/trays/versions/1/images", params={"class": "plate"})
    assert [r["file_name"] for r in plates.json()["items"]] == ["b.png"]
    unsplit = client.get("/api/v1/datasets/trays/versions/1/images", params={"split": "none"})
    assert unsplit.json()["total"] == 5
    assert (
        client.get("/api/v1/datasets/trays/versions/1/images", params={"split": "val"}).json()[
            "items"
        ]
        == []
    )
    typo = client.get("/api/v1/datasets/trays/versions/1/images", params={"class": "cups"})
    assert typo.status_code == 422 and "cup, plate" in typo.json()["error"]["message"]


def test_image_bytes(client: TestClient, trays: str, autolearn_home: Path) -> None:
    row = next(
        r
        for r in client.get("/api/v1/datasets/trays/versions/1/images").json()["items"]
        if r["file_name"] == "a.png"
    )
    got = client.get(row["url"])
    assert got.status_code == 200 and got.headers["content-type"] == "image/png"
    original = (autolearn_home / "trays" / "images" / "a.png").read_bytes()
    assert got.content == original and hashlib.sha256(got.content).hexdigest() == row["sha256"]
    assert "immutable" in got.headers["cache-control"]
    upper = client.get(row["url"].replace(row["sha256"], row["sha256"].upper()))
    assert upper.status_code == 200
    bad = client.get("/api/v1/datasets/trays/versions/1/images/xyz")
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "sha256"
    unknown = client.get(f"/api/v1/datasets/trays/versions/1/images/{'0' * 64}")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "image_not_found"


def test_a_member_sees_shared_images_but_not_anothers(
    as_user: Callable[[str | None], TestClient], trays: str
) -> None:
    alice = as_user("alice")
    page = alice.get("/api/v1/datasets/trays/versions/1/images").json()  # shared: no owner
    assert alice.get(page["items"][0]["url"]).status_code == 200


# ----------------------------------------------------------------------------- labelling


def member(tokens: dict[str, str], name: str) -> Principal:
    from autolearn.accounts.service import authenticate_token

    principal = authenticate_token(tokens[name])
    assert principal is not None
    return principal


@pytest.fixture
def bobs_colours(
    autolearn_home: Path, tokens: dict[str, str], make_learnable_folder: Callable[..., Path]
) -> str:
    folder = make_learnable_folder(autolearn_home / "colours", {"red": 4, "blue": 4})
    return import_dataset(folder, name="colours", actor=member(tokens, "bob")).ref


def test_label_in_a_draft_and_commit_it_as_v2(
    as_user: Callable[[str | None], TestClient], bobs_colours: str
) -> None:
    bob = as_user("bob")
    opened = bob.post("/api/v1/datasets/colours/versions/1/drafts")
    assert opened.status_code == 201, opened.text
    draft = opened.json()
    assert (draft["dataset"], draft["base"], draft["edits"]) == ("colours", "colours:v1", [])
    base = f"/api/v1/datasets/colours/drafts/{draft['id']}"
    item = bob.get("/api/v1/datasets/colours/versions/1/images", params={"class": "red"}).json()
    sha = item["items"][0]["sha256"]
    edits = [
        {"op": "add_class", "label": "green"},
        {"op": "set_label", "item": sha, "label": "green"},
    ]
    added = bob.post(f"{base}/edits", json={"edits": edits})
    assert added.status_code == 200 and len(added.json()["edits"]) == 2
    assert bob.get(base).json()["edits"][1] == {"op": "set_label", "item": sha, "label": "green"}
    greens = bob.get(f"{base}/images", params={"class": "green"}).json()
    assert [r["sha256"] for r in greens["items"]] == [sha]
    assert bob.get("/api/v1/datasets/colours").json()["latest"] == "colours:v1"  # not yet
    committed = bob.post(f"{base}/commit", json={"message": "one is green"})
    assert committed.status_code == 201, committed.text
    v2 = committed.json()
    assert v2["ref"] == "colours:v2" and "green" in v2["classes"]
    assert v2["changes"]["parent"] == "colours:v1"
    labels = {
        r["sha256"]: r["label"]
        for r in bob.get("/api/v1/datasets/colours/versions/2/images").json()["items"]
    }
    assert labels[sha] == "green"
    again = bob.post(f"{base}/edits", json={"edits": [edits[1]]})
    assert (
        again.status_code == 422 and "committed as colours:v2" in again.json()["error"]["message"]
    )


def test_edits_that_do_not_fit_change_nothing(
    as_user: Callable[[str | None], TestClient], bobs_colours: str
) -> None:
    bob = as_user("bob")
    draft = bob.post("/api/v1/datasets/colours/versions/1/drafts").json()
    base = f"/api/v1/datasets/colours/drafts/{draft['id']}"
    missing = bob.post(f"{base}/edits", json={"edits": [{"op": "set_label", "label": "red"}]})
    assert missing.status_code == 422
    assert missing.json()["error"]["fields"][0]["field"] == "edits.0"
    assert "set_label needs item" in missing.json()["error"]["message"]
    sha = bob.get("/api/v1/datasets/colours/versions/1/images").json()["items"][0]["sha256"]
    unknown = bob.post(
        f"{base}/edits", json={"edits": [{"op": "set_label", "item": sha, "label": "pink"}]}
    )
    assert (
        unknown.status_code == 422 and "unknown class 'pink'" in unknown.json()["error"]["message"]
    )
    assert bob.get(base).json()["edits"] == []
    empty = bob.post(f"{base}/commit")
    assert empty.status_code == 422 and "no edits" in empty.json()["error"]["message"]


def test_drafts_are_their_openers(
    as_user: Callable[[str | None], TestClient], bobs_colours: str, trays: str
) -> None:
    bob, alice, root = as_user("bob"), as_user("alice"), as_user("root")
    draft = bob.post("/api/v1/datasets/colours/versions/1/drafts").json()
    base = f"/api/v1/datasets/colours/drafts/{draft['id']}"
    for method, path in (("GET", base), ("POST", f"{base}/edits"), ("DELETE", base)):
        answer = alice.request(method, path, json={"edits": [{"op": "add_class", "label": "x"}]})
        assert answer.status_code == 404, (method, path)
        assert answer.json()["error"]["code"] in ("draft_not_found", "dataset_not_found")
    # the same id under a dataset alice may read does not find it either
    wrong = alice.get(f"/api/v1/datasets/trays/drafts/{draft['id']}")
    assert wrong.status_code == 404 and wrong.json()["error"]["code"] == "draft_not_found"
    assert alice.get("/api/v1/datasets/colours/drafts").status_code == 404
    assert alice.post("/api/v1/datasets/colours/versions/1/drafts").status_code == 404
    shared = alice.post("/api/v1/datasets/trays/versions/1/drafts")  # readable, not hers
    assert shared.status_code == 403 and shared.json()["error"]["code"] == "dataset_not_writable"
    assert "shared read-only" in shared.json()["error"]["message"]
    assert [d["id"] for d in bob.get("/api/v1/datasets/colours/drafts").json()] == [draft["id"]]
    assert root.get(base).status_code == 200  # admins see every draft
    root_draft = root.post("/api/v1/datasets/colours/versions/1/drafts").json()
    assert [d["id"] for d in bob.get("/api/v1/datasets/colours/drafts").json()] == [draft["id"]]
    assert len(root.get("/api/v1/datasets/colours/drafts").json()) == 2
    assert bob.get(f"/api/v1/datasets/colours/drafts/{root_draft['id']}").status_code == 404
    assert bob.delete(base).status_code == 204
    assert bob.get(base).status_code == 404
    assert bob.get("/api/v1/datasets/colours/drafts/not-an-id").status_code == 422


# ----------------------------------------------------------------------------- delete


def test_delete_refused_while_a_task_uses_the_dataset(
    as_user: Callable[[str | None], TestClient],
    bobs_colours: str,
    tokens: dict[str, str],
    tiny_spec: Callable[..., dict[str, Any]],
) -> None:
    from autolearn.tasks.service import create_task, parse_spec

    spec = tiny_spec()
    spec["data"]["source"] = {"type": "dataset", "dataset": "colours"}
    task = create_task(parse_spec(spec), actor=member(tokens, "bob"))
    refused = as_user("bob").delete("/api/v1/datasets/colours")
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "dataset_in_use"
    assert f"task {task['id']} ('tiny', on v1)" in error["message"]
    assert as_user("bob").get("/api/v1/datasets/colours").status_code == 200


def test_delete_removes_rows_manifests_and_drafts_but_not_blobs(
    as_user: Callable[[str | None], TestClient], bobs_colours: str, autolearn_home: Path
) -> None:
    bob = as_user("bob")
    bob.post("/api/v1/datasets/colours/versions/1/drafts")
    store = autolearn_home / "store"
    assert (store / "datasets" / "colours").is_dir()
    blobs = sorted((store / "blobs").rglob("*.png"))
    assert as_user("alice").delete("/api/v1/datasets/colours").status_code == 404
    gone = bob.delete("/api/v1/datasets/colours")
    assert gone.status_code == 200 and gone.json()["deleted_versions"] == [1]
    assert bob.get("/api/v1/datasets/colours").status_code == 404
    assert not (store / "datasets" / "colours").exists()
    assert sorted((store / "blobs").rglob("*.png")) == blobs  # may be shared: kept
    assert bob.delete("/api/v1/datasets/colours").status_code == 404


def test_only_admins_delete_a_shared_dataset(
    as_user: Callable[[str | None], TestClient], trays: str
) -> None:
    refused = as_user("alice").delete("/api/v1/datasets/trays")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "dataset_not_writable"
    assert as_user("root").delete("/api/v1/datasets/trays").status_code == 200
