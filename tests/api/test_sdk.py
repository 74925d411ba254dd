"""The SDK against the real app (in-process transport): the same data as the services,
and the API's errors as ``ApiError`` with code, message and fields."""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from autolearn.datasets.service import import_dataset
from autolearn.sdk import ApiError, Client
from autolearn.storage import open_store
from autolearn.tasks.results import MODEL_KEY
from autolearn.tasks.service import parse_spec


@pytest.fixture
def sdk(app: FastAPI, tokens: dict[str, str]) -> Iterator[Client]:
    with TestClient(app) as http, Client(http=http, token=tokens["alice"]) as c:
        yield c


def test_sdk_covers_tasks_and_datasets(
    sdk: Client, autolearn_home: Path, make_learnable_folder: Callable[..., Path]
) -> None:
    import_dataset(make_learnable_folder(autolearn_home / "c", {"red": 8, "blue": 8}), name="c")
    assert sdk.health() == {"status": "ok"}
    assert sdk.http.headers["Authorization"].startswith("Bearer al_")
    assert [d["name"] for d in sdk.list_datasets()] == ["c"]
    assert sdk.get_version("c", 1)["ref"] == "c:v1" == sdk.get_dataset("c")["latest"]
    spec = parse_spec(
        {
            "data": {"source": {"type": "dataset", "dataset": "c"}},
            "model": {"pretrained": "test_tiny"},
        }
    )
    task = sdk.create_task(spec)
    assert sdk.get_task(task["id"])["plan"] == task["plan"]
    assert [t["id"] for t in sdk.list_tasks(status="QUEUED")] == [task["id"]]
    assert sdk.stop_task(task["id"])["status"] == "STOPPED"
    assert sdk.resume_task(task["id"])["status"] == "QUEUED"
    assert [e["data"]["status"] for e in sdk.task_events(task["id"], kind="status")] == [
        "QUEUED",
        "STOPPED",
        "QUEUED",
    ]
    assert sdk.task_logs(task["id"])


def test_errors_become_api_errors(sdk: Client) -> None:
    with pytest.raises(ApiError) as err:
        sdk.get_task(7)
    assert (err.value.status, err.value.code) == (404, "task_not_found")
    with pytest.raises(ApiError) as err:
        sdk.create_task(
            {"data": {"source": {"type": "sample", "sample": "digits"}}, "model": {"lr": 1}}
        )
    assert err.value.status == 422 and err.value.fields[0]["field"] == "model.lr"


def test_sdk_uploads_browses_labels_and_deletes_datasets(
    sdk: Client, autolearn_home: Path, make_imagefolder: Callable[..., Path]
) -> None:
    folder = make_imagefolder(autolearn_home / "pets", {"cat": 3, "dog": 3})
    v1 = sdk.upload_dataset("pets", folder, description="from a folder")
    assert (v1["ref"], v1["num_images"], v1["source"]) == ("pets:v1", 6, "upload pets.zip")
    archive = autolearn_home / "pets.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for file in sorted(folder.rglob("*.png")):
            zf.write(file, file.relative_to(folder).as_posix())
    assert sdk.upload_dataset("pets", archive)["id"] == v1["id"]  # same content
    assert sdk.upload_dataset("pets", archive.read_bytes())["id"] == v1["id"]
    page = sdk.dataset_images("pets", 1, limit=2, cls="cat")
    assert page["total"] == 3 and len(page["items"]) == 2
    first = page["items"][0]
    assert (
        hashlib.sha256(sdk.image_bytes("pets", 1, first["sha256"])).hexdigest() == first["sha256"]
    )

    draft = sdk.open_draft("pets", 1)
    assert [d["id"] for d in sdk.list_drafts("pets")] == [draft["id"]]
    sdk.add_edits("pets", draft["id"], {"op": "set_label", "item": first["sha256"], "label": "dog"})
    assert sdk.get_draft("pets", draft["id"])["edits"][0]["label"] == "dog"
    assert sdk.draft_images("pets", draft["id"], cls="cat")["total"] == 2
    v2 = sdk.commit_draft("pets", draft["id"], "a dog after all")
    assert v2["ref"] == "pets:v2" and v2["class_counts"]["all"] == {"cat": 2, "dog": 4}
    other = sdk.open_draft("pets", 2)
    sdk.discard_draft("pets", other["id"])
    with pytest.raises(ApiError) as err:
        sdk.get_draft("pets", other["id"])
    assert err.value.code == "draft_not_found"

    assert sdk.delete_dataset("pets")["deleted_versions"] == [1, 2]
    assert sdk.list_datasets() == []


def test_sdk_import_errors_carry_the_report(sdk: Client, autolearn_home: Path) -> None:
    with pytest.raises(ApiError) as err:
        sdk.upload_dataset("bad", b"not a zip")
    assert (err.value.status, err.value.code) == (422, "import_refused")
    assert err.value.fields[0]["code"] == "zip_unreadable"
    assert err.value.body["report"]["problems"][0]["code"] == "zip_unreadable"
    with pytest.raises(ApiError) as err:
        sdk.import_dataset("mine", str(autolearn_home))  # alice is a member
    assert (err.value.status, err.value.code) == (403, "admin_only")
    with pytest.raises(FileNotFoundError):
        sdk.upload_dataset("x", autolearn_home / "nothing-here")


def test_sdk_lists_copies_follows_and_deletes_tasks(
    sdk: Client, autolearn_home: Path, make_learnable_folder: Callable[..., Path]
) -> None:
    import_dataset(make_learnable_folder(autolearn_home / "c", {"red": 6, "blue": 6}), name="c")
    spec = {
        "basic": {"name": "first"},
        "data": {"source": {"type": "dataset", "dataset": "c"}},
        "model": {"pretrained": "test_tiny"},
    }
    first = sdk.create_task(spec)
    second = sdk.copy_task(first["id"], "second", {"model": {"hyperparams": {"epochs": 2}}})
    assert second["status"] == "QUEUED" and second["plan"]["epochs"] == 2
    page = sdk.task_page("queued", name="SEC", dataset="c:v1", sort="name")
    assert page["total"] == 1 and [t["id"] for t in page["items"]] == [second["id"]]
    assert [t["name"] for t in sdk.list_tasks(sort="name")] == ["first", "second"]

    sdk.stop_task(first["id"])
    followed = list(sdk.follow_task(first["id"]))
    assert [(e["kind"], e["data"]["status"]) for e in followed] == [
        ("status", "QUEUED"),
        ("status", "STOPPED"),
    ]
    assert list(sdk.follow_task(first["id"], after_id=followed[0]["id"])) == followed[1:]

    with pytest.raises(ApiError) as err:
        sdk.delete_task(second["id"])
    assert (err.value.status, err.value.code) == (409, "task_state_conflict")
    assert sdk.delete_task(first["id"])["deleted"] is True
    with pytest.raises(ApiError) as err:
        list(sdk.follow_task(first["id"]))
    assert (err.value.status, err.value.code) == (404, "task_not_found")


def test_sdk_models_and_evaluations(
    sdk: Client, autolearn_home: Path, make_learnable_folder: Callable[..., Path]
) -> None:
    from test_models_api import REPORT, _png, finish_with_model

    import_dataset(make_learnable_folder(autolearn_home / "c", {"red": 6, "blue": 6}), name="c")
    spec = {
        "data": {"source": {"type": "dataset", "dataset": "c"}},
        "model": {"pretrained": "test_tiny"},
    }
    task = sdk.create_task(spec)
    with pytest.raises(ApiError) as err:
        sdk.get_evaluation(task["id"])
    assert err.value.code == "evaluation_not_found"
    finish_with_model(task)

    (model,) = sdk.list_models()["items"]
    assert model["task_id"] == task["id"] and model["classes"] == ["blue", "red"]
    assert sdk.get_model(task["id"])["meta"]["classes"] == ["blue", "red"]
    saved = sdk.download_model(task["id"], autolearn_home)
    assert saved == autolearn_home / f"task-task{task['id']}.pt"
    assert saved.read_bytes() == open_store(task["output_uri"]).get_bytes(MODEL_KEY)
    assert sdk.download_model(task["id"], autolearn_home / "m.pt").name == "m.pt"
    image = autolearn_home / "red.png"
    image.write_bytes(_png())
    predicted = sdk.predict(task["id"], image, top_k=1)
    assert [p["label"] for p in predicted["predictions"]] == ["red"]
    with pytest.raises(ApiError) as err:
        sdk.predict(task["id"], b"not an image")
    assert (err.value.status, err.value.code) == (422, "invalid_image")
    assert sdk.get_evaluation(task["id"])["report"] == REPORT
    assert [e["task_id"] for e in sdk.list_evaluations()["items"]] == [task["id"]]
    with pytest.raises(ApiError) as err:
        sdk.download_model(task["id"] + 1, autolearn_home)
    assert err.value.code == "task_not_found"


def test_sdk_covers_accounts_and_users(app: FastAPI, tokens: dict[str, str]) -> None:
    with TestClient(app) as http, Client(http=http, token=tokens["root"]) as root:
        assert root.me()["role"] == "admin"
        carol = root.create_user("carol", password="carol-password-1")
        made = root.create_user_token(carol["id"], "svc")
        with TestClient(app) as http2, Client(http=http2, token=made["token"]) as as_carol:
            assert as_carol.me()["username"] == "carol"
            extra = as_carol.create_token("laptop", ttl_days=7)
            assert [t["name"] for t in as_carol.list_tokens()] == ["svc", "laptop"]
            assert as_carol.revoke_token(extra["id"])["revoked"] is True
            with pytest.raises(ApiError) as denied:
                as_carol.list_users()
            assert denied.value.status == 403 and denied.value.code == "admin_only"
        assert root.update_user(carol["id"], role="admin")["role"] == "admin"
        assert {u["username"] for u in root.list_users()} >= {"root", "carol"}
