"""Uploading a dataset as a raw .zip body, and importing from a server path (admins).

The HTTP layer's limits (bytes, files) answer 413 and leave nothing behind: no dataset
row, no temporary file. A refused import answers 422 with the report's problems.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app_fixtures import zip_folder
from autolearn.datasets.service import list_datasets
from autolearn.settings import get_settings

Client = Callable[[str | None], TestClient]
ZIP = {"Content-Type": "application/zip"}


@pytest.fixture
def colours_zip(autolearn_home: Path, make_imagefolder: Callable[..., Path]) -> bytes:
    """A 2-class imagefolder of 6 tiny images, zipped."""
    return zip_folder(make_imagefolder(autolearn_home / "src", {"red": 3, "blue": 3}))


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch, autolearn_home: Path) -> Iterator[None]:
    """Upload limits small enough for tiny test archives."""
    monkeypatch.setenv("AUTOLEARN_UPLOAD_MAX_BYTES", "4000")
    monkeypatch.setenv("AUTOLEARN_UPLOAD_MAX_FILES", "4")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def left_behind(home: Path) -> list[Path]:
    """Anything an upload left in the temporary folder."""
    tmp = home / "tmp"
    return list(tmp.iterdir()) if tmp.exists() else []


def test_upload_creates_a_version_owned_by_the_uploader(
    as_user: Client, colours_zip: bytes, autolearn_home: Path
) -> None:
    bob = as_user("bob")
    made = bob.post(
        "/api/v1/datasets/colours/upload",
        content=colours_zip,
        headers=ZIP,
        params={"description": "red and blue", "filename": "My Colours.zip"},
    )
    assert made.status_code == 201, made.text
    version = made.json()
    assert (version["ref"], version["num_images"], version["classes"]) == (
        "colours:v1",
        6,
        ["blue", "red"],
    )
    assert made.headers["location"] == "/api/v1/datasets/colours/versions/1"
    assert version["source"] == "upload My-Colours.zip"  # not the server's temp path
    shown = bob.get("/api/v1/datasets/colours").json()
    assert shown["description"] == "red and blue"
    assert shown["owner_id"] == bob.get("/api/v1/account").json()["id"]
    assert [d["name"] for d in as_user("alice").get("/api/v1/datasets").json()] == []
    again = bob.post("/api/v1/datasets/colours/upload", content=colours_zip, headers=ZIP)
    assert again.status_code == 200 and again.json()["id"] == version["id"]  # identical
    assert left_behind(autolearn_home) == []


def test_too_large_by_content_length_is_refused_before_reading(
    as_user: Client, colours_zip: bytes, limits: None, autolearn_home: Path
) -> None:
    # The header alone decides: the small body that follows is never looked at.
    answer = as_user("bob").post(
        "/api/v1/datasets/big/upload",
        content=b"PK",
        headers={**ZIP, "Content-Length": "4001"},
    )
    assert answer.status_code == 413
    error = answer.json()["error"]
    assert error["code"] == "upload_too_large" and "4,000 bytes" in error["message"]
    assert list_datasets() == [] and left_behind(autolearn_home) == []


@pytest.mark.parametrize("declared", [None, "100"], ids=["chunked", "lying-length"])
def test_too_large_while_streaming_stops_and_leaves_nothing(
    as_user: Client, colours_zip: bytes, limits: None, autolearn_home: Path, declared: str | None
) -> None:
    assert len(colours_zip) > 4000

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(colours_zip), 1000):
            yield colours_zip[start : start + 1000]

    headers = dict(ZIP)
    if declared:
        headers["Content-Length"] = declared
    answer = as_user("bob").post("/api/v1/datasets/big/upload", content=chunks(), headers=headers)
    assert answer.status_code == 413, answer.text
    assert answer.json()["error"]["code"] == "upload_too_large"
    assert list_datasets() == [] and left_behind(autolearn_home) == []


def test_too_many_files_is_refused_before_extraction(
    as_user: Client,
    make_imagefolder: Callable[..., Path],
    autolearn_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUTOLEARN_UPLOAD_MAX_FILES", "5")
    get_settings.cache_clear()
    body = zip_folder(make_imagefolder(autolearn_home / "src", {"red": 3, "blue": 3}))
    answer = as_user("bob").post("/api/v1/datasets/many/upload", content=body, headers=ZIP)
    assert answer.status_code == 413
    error = answer.json()["error"]
    assert error["code"] == "upload_too_many_files"
    assert "6 files, more than the 5" in error["message"]
    assert list_datasets() == [] and left_behind(autolearn_home) == []


def test_corrupt_zip_is_422_naming_the_problem(as_user: Client, autolearn_home: Path) -> None:
    answer = as_user("bob").post(
        "/api/v1/datasets/broken/upload",
        content=b"PK\x03\x04 this is not really a zip",
        headers=ZIP,
        params={"filename": "holiday.zip"},
    )
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "import_refused"
    assert "holiday.zip is not a readable zip archive" in error["message"]
    assert str(autolearn_home) not in error["message"]  # no server paths in messages
    assert [f["code"] for f in error["fields"]] == ["zip_unreadable"]
    assert error["report"]["status"] == "refused"
    assert list_datasets() == [] and left_behind(autolearn_home) == []


def test_a_layout_no_format_knows_names_the_archive(
    as_user: Client, autolearn_home: Path, make_image: Callable[..., Path]
) -> None:
    src = autolearn_home / "src"
    make_image(src / "a.png")  # loose images, no class folders
    (src / "notes.txt").write_text("my holiday")
    answer = as_user("bob").post(
        "/api/v1/datasets/x/upload",
        content=zip_folder(src),
        headers=ZIP,
        params={"filename": "holiday.zip"},
    )
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["message"].startswith("no known dataset format fits holiday.zip; known formats:")
    assert "imagefolder (one folder per class" in error["message"]  # what to arrange
    assert "import-" not in error["message"] and str(autolearn_home) not in error["message"]


def test_a_bad_image_is_named_with_its_place_in_the_archive(
    as_user: Client, make_imagefolder: Callable[..., Path], autolearn_home: Path
) -> None:
    src = make_imagefolder(autolearn_home / "src", {"red": 3, "blue": 3})
    (src / "red" / "broken.png").write_bytes(b"not an image at all")
    answer = as_user("bob").post(
        "/api/v1/datasets/colours/upload", content=zip_folder(src), headers=ZIP
    )
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["fields"] == [
        {
            "field": "colours.zip:red/broken.png",
            "message": error["fields"][0]["message"],
            "code": "not_an_image",
        }
    ]
    assert "policy 'lenient'" in error["message"]  # says how to go on
    lenient = as_user("bob").post(
        "/api/v1/datasets/colours/upload",
        content=zip_folder(src),
        headers=ZIP,
        params={"policy": "lenient"},
    )
    assert lenient.status_code == 201 and lenient.json()["num_images"] == 6


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"files": {"file": ("x.zip", b"PK")}}, 415, "unsupported_media_type"),
        ({"content": b"", "headers": ZIP}, 422, "empty_upload"),
        ({"content": b"PK", "headers": ZIP, "params": {"format": "tiff"}}, 422, "invalid_dataset"),
    ],
    ids=["multipart", "empty", "unknown-format"],
)
def test_requests_the_upload_cannot_use(
    as_user: Client, kwargs: dict, status: int, code: str
) -> None:
    answer = as_user("bob").post("/api/v1/datasets/x/upload", **kwargs)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code
    assert answer.json()["error"]["message"]


def test_a_bad_name_is_refused_before_the_body(as_user: Client, colours_zip: bytes) -> None:
    answer = as_user("bob").post("/api/v1/datasets/-bad/upload", content=colours_zip, headers=ZIP)
    assert answer.status_code == 422
    assert [f["code"] for f in answer.json()["error"]["fields"]] == ["bad_name"]


def test_nobody_adds_versions_to_anothers_or_a_shared_dataset(
    as_user: Client, colours_zip: bytes, autolearn_home: Path, make_imagefolder: Callable
) -> None:
    assert (
        as_user("bob")
        .post("/api/v1/datasets/colours/upload", content=colours_zip, headers=ZIP)
        .status_code
        == 201
    )
    taken = as_user("alice").post(
        "/api/v1/datasets/colours/upload", content=colours_zip, headers=ZIP
    )
    assert taken.status_code == 403
    assert taken.json()["error"]["code"] == "dataset_not_writable"
    assert "import under another name" in taken.json()["error"]["message"]
    folder = make_imagefolder(autolearn_home / "shared", {"a": 2, "b": 2}, seed=5)
    shared = as_user("root").post(
        "/api/v1/datasets/common/import", json={"source": str(folder), "shared": True}
    )
    assert shared.status_code == 201, shared.text
    refused = as_user("alice").post(
        "/api/v1/datasets/common/upload", content=colours_zip, headers=ZIP
    )
    assert refused.status_code == 403 and "shared read-only" in refused.json()["error"]["message"]


def test_import_from_a_server_path_is_for_admins(
    as_user: Client, autolearn_home: Path, make_imagefolder: Callable[..., Path]
) -> None:
    folder = make_imagefolder(autolearn_home / "on-server", {"a": 2, "b": 2})
    member = as_user("alice").post("/api/v1/datasets/mine/import", json={"source": str(folder)})
    assert member.status_code == 403 and member.json()["error"]["code"] == "admin_only"
    assert list_datasets() == []
    root = as_user("root")
    made = root.post("/api/v1/datasets/mine/import", json={"source": str(folder)})
    assert made.status_code == 201 and made.json()["ref"] == "mine:v1"
    assert root.get("/api/v1/datasets/mine").json()["owner_id"] is not None  # the admin's
    assert as_user("alice").get("/api/v1/datasets/mine").status_code == 404
    again = root.post("/api/v1/datasets/mine/import", json={"source": str(folder)})
    assert again.status_code == 200
    missing = root.post("/api/v1/datasets/x/import", json={"source": "/no/such/folder"})
    assert missing.status_code == 422
    assert [f["code"] for f in missing.json()["error"]["fields"]] == ["source_missing"]
