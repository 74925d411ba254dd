"""The Data center pages without a browser: the shells render for a signed-in user and
redirect when signed out; the path and query values they pass on to the page are checked
first; every string key the pages build at run time exists; and the API guarantees the
pages rely on (a member reads and labels only what they may) hold for cookie sessions."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app_fixtures import console_session, zip_folder
from autolearn.web import dataset_pages
from autolearn.web.i18n import strings

WEB = Path(dataset_pages.__file__).parent
ZIP = {"Content-Type": "application/zip"}


def signed_in(app: FastAPI, username: str) -> tuple[TestClient, dict[str, str]]:
    """A browser with ``username``'s console session (no redirects followed), and the CSRF
    header its pages send."""
    browser, csrf = console_session(app, username)
    browser.follow_redirects = False
    return browser, {"X-CSRF-Token": csrf}


@pytest.fixture
def colours(
    app: FastAPI,
    tokens: dict[str, str],
    autolearn_home: Path,
    make_imagefolder: Callable[..., Path],
) -> bytes:
    return zip_folder(make_imagefolder(autolearn_home / "src", {"red": 2, "blue": 2}))


def test_the_pages_redirect_to_sign_in_and_back(app: FastAPI) -> None:
    with TestClient(app, follow_redirects=False) as anon:
        for path, target in (
            ("/console/datasets", "/console/datasets"),
            ("/console/datasets/pets?version=2", "/console/datasets/pets%3Fversion%3D2"),
            (
                "/console/datasets/pets/label?version=1",
                "/console/datasets/pets/label%3Fversion%3D1",
            ),
        ):
            gone = anon.get(path)
            assert gone.status_code == 303, path
            assert gone.headers["location"] == f"/console/login?next={target}"


def test_the_pages_render_their_contract_for_the_owner(
    app: FastAPI, tokens: dict[str, str]
) -> None:
    browser, _ = signed_in(app, "alice")
    listing = browser.get("/console/datasets")
    assert listing.status_code == 200
    for element in (
        "dataset-table",
        "upload-name",
        "upload-file",
        "upload-submit",
        "upload-report",
    ):
        assert f'id="{element}"' in listing.text, element
    assert 'for="upload-name"' in listing.text and 'for="upload-file"' in listing.text
    assert '<a href="/console/datasets" aria-current="page">' in listing.text
    assert "/static/js/datasets.js" in listing.text

    page = browser.get("/console/datasets/pets", params={"version": "v2"})
    assert page.status_code == 200
    assert 'data-name="pets" data-version="2"' in page.text
    for element in ("version-select", "class-chart", "image-grid", "open-labelling"):
        assert f'id="{element}"' in page.text, element

    label = browser.get("/console/datasets/pets/label", params={"version": "1", "draft": "A" * 32})
    assert label.status_code == 200
    assert f'data-name="pets" data-version="1" data-draft="{"a" * 32}"' in label.text
    for element in (
        "label-class-select",
        "label-tiles",
        "label-stage",
        "save-label",
        "commit-draft",
        "discard-draft",
    ):
        assert f'id="{element}"' in label.text, element
    assert 'aria-current="page">' in label.text  # the Data center stays marked


def test_odd_names_and_queries_are_not_passed_on(app: FastAPI, tokens: dict[str, str]) -> None:
    browser, _ = signed_in(app, "alice")
    page = browser.get("/console/datasets/..%2F..%2Fx", params={"version": "latest"})
    assert page.status_code in (200, 404)
    if page.status_code == 200:
        assert 'data-name="" data-version=""' in page.text
    script = browser.get("/console/datasets/a<b", params={"version": "1;x"})
    assert script.status_code == 200
    assert "a<b" not in script.text and "a&lt;b" in script.text  # shown escaped, not used
    assert 'data-name="" data-version=""' in script.text
    label = browser.get("/console/datasets/pets/label", params={"draft": "../../etc"})
    assert 'data-draft=""' in label.text


@pytest.mark.parametrize(
    ("value", "number"),
    [
        ("3", 3),
        ("v12", 12),
        (" 7 ", 7),
        (None, None),
        ("", None),
        ("0", None),
        ("v", None),
        ("@abc", None),
        ("1.5", None),
        ("-1", None),
        ("9" * 12, None),
    ],
)
def test_version_param(value: str | None, number: int | None) -> None:
    assert dataset_pages.version_param(value) == number


def test_draft_and_name_params() -> None:
    assert dataset_pages.draft_param("AB" * 16) == "ab" * 16
    assert dataset_pages.draft_param("ab" * 15) is None
    assert dataset_pages.draft_param(None) is None
    assert dataset_pages.dataset_name("pets.v2_x-y") == "pets.v2_x-y"
    for bad in ("", ".hidden", "a/b", "a b", "x" * 129):
        assert dataset_pages.dataset_name(bad) is None


def test_run_time_string_keys_exist() -> None:
    """Keys the scripts build from API values (scenario, split, severity, report fields,
    changes) or choose between; the generic check only sees literal ``t("…")`` calls."""
    table = strings()
    built = [
        *(f"ds.scenario_{s}" for s in ("classification", "detection", "tableware")),
        *(f"ds.split_{s}" for s in ("all", "train", "val", "none")),
        *(f"ds.sev_{s}" for s in ("error", "warning", "info")),
        *(f"ds.c_{c}" for c in ("images_added", "images_removed", "images_relabelled")),
        *(f"ds.c_{c}" for c in ("images_moved", "boxes_added", "boxes_removed")),
        "ds.chart_boxes",
        "ds.chart_images",
        "lab.help_detect",
        "lab.help_classify",
        "lab.class_for_boxes",
    ]
    script = (WEB / "static" / "js" / "dataset.js").read_text()
    fields = re.search(r"SUMMARY_FIELDS = \[([^\]]*)\]", script)
    assert fields is not None
    built += [f"ds.r_{f}" for f in re.findall(r'"([a-z_]+)"', fields.group(1))]
    for name in ("dataset.js", "labelling.js", "datasets.js", "boxes.js"):
        text = (WEB / "static" / "js" / name).read_text()
        built += re.findall(r'"((?:ds|lab|boxes)\.[a-z0-9_]+)"', text)
    missing = sorted({key for key in built if key not in table})
    assert missing == []


def test_our_scripts_load_nothing_from_outside() -> None:
    for name in ("dataset.js", "labelling.js", "datasets.js", "boxes.js"):
        text = (WEB / "static" / "js" / name).read_text()
        imports = re.findall(r'^import .* from "([^"]+)";', text, re.M)
        assert imports and all(i.startswith("./") for i in imports), name
        assert "innerHTML" not in text, name  # text is never parsed as HTML


def test_upload_and_its_report_through_a_console_session(
    app: FastAPI, colours: bytes, autolearn_home: Path, make_image: Callable[..., Path]
) -> None:
    """What datasets.js does: the raw zip with the CSRF header; a refusal's report."""
    browser, csrf = signed_in(app, "alice")
    no_csrf = browser.post("/api/v1/datasets/colours/upload", content=colours, headers=ZIP)
    assert no_csrf.status_code == 403 and no_csrf.json()["error"]["code"] == "csrf_failed"
    made = browser.post(
        "/api/v1/datasets/colours/upload",
        content=colours,
        headers={**ZIP, **csrf},
        params={"filename": "colours.zip", "format": "auto", "policy": "strict", "description": ""},
    )
    assert made.status_code == 201, made.text
    version = made.json()
    assert version["number"] == 1 and version["report"]["status"] == "imported"
    assert set(version["class_counts"]["all"]) == {"red", "blue"}  # the chart's data
    bad = autolearn_home / "bad"
    make_image(bad / "a.png")
    refused = browser.post(
        "/api/v1/datasets/bad/upload",
        content=zip_folder(bad),
        headers={**ZIP, **csrf},
        params={"filename": "bad.zip"},
    )
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "import_refused"
    assert [(p["file"], bool(p["message"])) for p in error["report"]["problems"]] == [
        ("bad.zip", True)
    ]


def test_a_member_gets_nothing_of_anothers_dataset(app: FastAPI, colours: bytes) -> None:
    """The page shell renders for anyone signed in; every call its scripts make answers
    404 for a dataset (or draft) that is not the member's, and labelling is refused."""
    alice, alice_csrf = signed_in(app, "alice")
    made = alice.post(
        "/api/v1/datasets/colours/upload", content=colours, headers={**ZIP, **alice_csrf}
    )
    assert made.status_code == 201
    draft = alice.post("/api/v1/datasets/colours/versions/1/drafts", headers=alice_csrf).json()
    sha = alice.get("/api/v1/datasets/colours/versions/1/images").json()["items"][0]["sha256"]

    bob, bob_csrf = signed_in(app, "bob")
    assert bob.get("/console/datasets/colours").status_code == 200  # an empty shell
    assert [d["name"] for d in bob.get("/api/v1/datasets").json()] == []
    base = "/api/v1/datasets/colours"
    for path in (
        base,
        f"{base}/versions/1",
        f"{base}/versions/1/images",
        f"{base}/versions/1/images/{sha}",
        f"{base}/drafts",
        f"{base}/drafts/{draft['id']}",
        f"{base}/drafts/{draft['id']}/images",
    ):
        answer = bob.get(path)
        assert answer.status_code == 404, path
    opened = bob.post(f"{base}/versions/1/drafts", headers=bob_csrf)
    assert opened.status_code == 404
    edit = bob.post(
        f"{base}/drafts/{draft['id']}/edits",
        json={"edits": [{"op": "set_label", "item": sha, "label": "red"}]},
        headers=bob_csrf,
    )
    assert edit.status_code == 404
    assert bob.post(f"{base}/drafts/{draft['id']}/commit", headers=bob_csrf).status_code == 404
    assert bob.delete(f"{base}/drafts/{draft['id']}", headers=bob_csrf).status_code == 404
    taken = bob.post(f"{base}/upload", content=colours, headers={**ZIP, **bob_csrf})
    assert taken.status_code == 403  # the name is alice's


def test_labelling_round_trip_as_the_page_does_it(app: FastAPI, colours: bytes) -> None:
    """labelling.js: open a draft, find it again to resume, send edits one by one, read
    the draft's images with the edits applied, commit, and land on the new version."""
    alice, csrf = signed_in(app, "alice")
    alice.post("/api/v1/datasets/colours/upload", content=colours, headers={**ZIP, **csrf})
    draft = alice.post("/api/v1/datasets/colours/versions/1/drafts", headers=csrf).json()
    me = alice.get("/api/v1/account").json()
    mine = alice.get("/api/v1/datasets/colours/drafts").json()
    resumable = [
        d
        for d in mine
        if not d["committed"] and d["owner_id"] == me["id"] and d["base"] == "colours:v1"
    ]
    assert [d["id"] for d in resumable] == [draft["id"]]
    path = f"/api/v1/datasets/colours/drafts/{draft['id']}"
    items = alice.get(f"{path}/images", params={"limit": 30, "offset": 0}).json()
    assert items["scenario"] == "classification" and items["items"][0]["url"]
    first, second = items["items"][0]["sha256"], items["items"][1]["sha256"]
    for edit in (
        {"op": "add_class", "label": "green"},
        {"op": "set_label", "item": first, "label": "green"},
        {"op": "set_label", "item": second, "label": "green"},
    ):
        answer = alice.post(f"{path}/edits", json={"edits": [edit]}, headers=csrf)
        assert answer.status_code == 200, answer.text
    assert len(answer.json()["edits"]) == 3
    labels = {i["sha256"]: i["label"] for i in alice.get(f"{path}/images").json()["items"]}
    assert labels[first] == labels[second] == "green"
    committed = alice.post(f"{path}/commit", json={"message": "two green"}, headers=csrf)
    assert committed.status_code == 201, committed.text
    version = committed.json()
    assert version["number"] == 2 and version["changes"]["images_relabelled"] == 2
    assert version["report"]["labelling"]["message"] == "two green"
    page = alice.get(f"/console/datasets/colours?version={version['number']}")
    assert 'data-version="2"' in page.text
