"""Published model versions: copied out of the task (so the task can change or go),
numbered per name, with a model card; refused when there is nothing (ready) to publish;
a failure halfway leaves nothing; members see only their own; delete refused while a
service uses the version."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from autolearn.accounts import Principal
from autolearn.db import session_scope
from autolearn.db.models import ModelVersion
from autolearn.models import published
from autolearn.models.published import (
    ModelNameTakenError,
    ModelVersionError,
    ModelVersionInUseError,
    ModelVersionNotFoundError,
    PublishRefusedError,
)
from autolearn.serving.services import deploy
from autolearn.storage import default_store, open_store
from autolearn.storage.local import path_from_file_uri
from autolearn.tasks.results import MODEL_KEY
from model_fixtures import add_onnx_profile, make_finished_task


def _files(name: str, version: int) -> list[str]:
    return default_store().list(f"models/{name}/v{version}")


def test_publish_copies_the_model_with_a_card(finished_task: dict[str, Any]) -> None:
    view = published.publish(finished_task["id"], "colours", description="first")
    assert (view["ref"], view["status"], view["format"], view["profile"]) == (
        "colours:v1",
        "ready",
        "pytorch",
        "pytorch",
    )
    assert view["metrics"] == {"accuracy": 0.75, "loss": 0.5}
    assert view["meta"]["classes"] == ["blue", "red"] and view["classes"] == ["blue", "red"]
    assert _files("colours", 1) == [
        "models/colours/v1/meta.json",
        "models/colours/v1/model.pt",
        "models/colours/v1/model_card.json",
    ]
    artifact = path_from_file_uri(view["artifact_uri"])
    source = open_store(finished_task["output_uri"]).get_bytes(MODEL_KEY)
    assert artifact.read_bytes() == source and view["size_bytes"] == len(source)
    card = view["card"]
    assert card["dataset"]["ref"] == "colours:v1" and len(card["dataset"]["content_hash"]) == 64
    assert card["spec"]["model"]["pretrained"] == "test_tiny"
    assert card["libraries"]["torch"] and card["libraries"]["autolearn"] is not None
    assert card["ref"] == "colours:v1" and card["task_id"] == finished_task["id"]
    assert json.loads((artifact.parent / "model_card.json").read_text()) == card

    # the task's model changes (a resume writes a new best): the version does not
    open_store(finished_task["output_uri"]).put_bytes(MODEL_KEY, b"retrained")
    assert artifact.read_bytes() == source


def test_versions_count_up_per_name_and_refs_resolve(finished_task: dict[str, Any]) -> None:
    first = published.publish(finished_task["id"], "colours")
    second = published.publish(finished_task["id"], "colours")
    other = published.publish(finished_task["id"], "other")
    assert (first["version"], second["version"], other["version"]) == (1, 2, 1)
    assert published.get_version("colours")["id"] == second["id"]  # latest ready
    assert published.get_version("colours:v1")["id"] == first["id"]
    assert published.get_version("colours:1")["id"] == first["id"]
    assert published.get_version(str(other["id"]))["ref"] == "other:v1"
    for missing in ("colours:v9", "nothing", "999", "colours:vx"):
        with pytest.raises(ModelVersionNotFoundError):
            published.get_version(missing)
    page = published.list_versions(limit=2)
    assert page["total"] == 3 and [i["ref"] for i in page["items"]] == ["other:v1", "colours:v2"]
    assert published.list_versions(name="colours")["total"] == 2


def test_concurrent_publishes_of_one_name_get_distinct_numbers(
    finished_task: dict[str, Any],
) -> None:
    got: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            got.append(published.publish(finished_task["id"], "race")["version"])
        except BaseException as exc:  # collected for the assert
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and sorted(got) == [1, 2, 3, 4]


def test_nothing_to_publish_is_refused(autolearn_home: Path, finished_task: dict[str, Any]) -> None:
    from autolearn.tasks.results import META_KEY

    with pytest.raises(ModelVersionError, match="name"):
        published.publish(finished_task["id"], "bad:name")
    with pytest.raises(PublishRefusedError, match="no optimised model"):
        published.publish(finished_task["id"], "colours", profile="cpu-int8")
    open_store(finished_task["output_uri"]).delete(META_KEY)
    with pytest.raises(PublishRefusedError, match="no finished model"):
        published.publish(finished_task["id"], "colours")
    assert published.list_versions()["total"] == 0


def test_a_refused_optimisation_cannot_be_published(finished_task: dict[str, Any]) -> None:
    add_onnx_profile(finished_task, "cpu-int8", status="refused")
    with pytest.raises(PublishRefusedError) as info:
        published.publish(finished_task["id"], "colours", profile="cpu-int8")
    message = str(info.value)
    assert "refused" in message and "0.75" in message and "0.5" in message  # its numbers
    assert published.list_versions()["total"] == 0


def test_a_ready_onnx_profile_is_published_as_onnx(finished_task: dict[str, Any]) -> None:
    add_onnx_profile(finished_task, "cpu-int8")
    view = published.publish(finished_task["id"], "colours", profile="cpu-int8")
    assert (view["format"], view["profile"]) == ("onnx", "cpu-int8")
    assert view["artifact_uri"].endswith("/models/colours/v1/model.onnx")
    assert view["metrics"] == {"accuracy": 0.75, "latency_ms": 3.0}  # the report's "after"
    assert view["meta"]["classes"] == ["blue", "red"]
    assert "models/colours/v1/optimization_report.json" in _files("colours", 1)
    assert published.artifact_filename(view) == "colours-v1.onnx"


def test_a_failure_halfway_leaves_nothing(
    finished_task: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    real = published._copy_files

    def copy_then_fail(*args: Any) -> int:
        real(*args)  # every file is there ...
        with session_scope() as s:
            seen.extend(r.status for r in s.query(ModelVersion))
        raise OSError("disk full")  # ... and then the store fails

    monkeypatch.setattr(published, "_copy_files", copy_then_fail)
    with pytest.raises(OSError, match="disk full"):
        published.publish(finished_task["id"], "colours")
    assert seen == ["publishing"]  # never "ready" before the end
    assert published.list_versions()["total"] == 0
    assert _files("colours", 1) == []
    monkeypatch.setattr(published, "_copy_files", real)
    assert published.publish(finished_task["id"], "colours")["version"] == 1


def test_members_see_only_their_own(autolearn_home: Path) -> None:
    from autolearn.accounts.service import create_user

    def principal(name: str, role: str = "member") -> Principal:
        user = create_user(name, role)
        return Principal(user["id"], name, role)  # type: ignore[arg-type]

    bob, alice, root = principal("bob"), principal("alice"), principal("root", "admin")
    task = make_finished_task(autolearn_home, "bobdata", actor=bob)
    view = published.publish(task["id"], "bobs", actor=bob)
    with pytest.raises(Exception, match="does not exist"):
        published.publish(task["id"], "mine", actor=alice)  # not her task
    for ref in ("bobs", "bobs:v1", str(view["id"])):
        with pytest.raises(ModelVersionNotFoundError):
            published.get_version(ref, actor=alice)
        with pytest.raises(ModelVersionNotFoundError):
            published.delete_version(ref, actor=alice)
    assert published.list_versions(actor=alice)["total"] == 0
    assert published.list_versions(actor=root)["total"] == 1
    assert published.get_version("bobs", actor=root)["owner_id"] == bob.user_id
    alices = make_finished_task(autolearn_home, "alicedata", actor=alice)
    with pytest.raises(ModelNameTakenError):
        published.publish(alices["id"], "bobs", actor=alice)


def test_delete_is_refused_while_a_service_uses_the_version(
    published_version: dict[str, Any],
) -> None:
    service = deploy(published_version["ref"], "svc")
    with pytest.raises(ModelVersionInUseError, match=f"{service['id']} \\(svc\\)"):
        published.delete_version("colours:v1")
    assert published.get_version("colours:v1")["services"] == [
        {"id": service["id"], "name": "svc", "status": "RUNNING"}
    ]
    from autolearn.serving.services import delete_service

    delete_service(service["id"])
    assert published.delete_version("colours:v1")["deleted"] is True
    assert _files("colours", 1) == []
    with pytest.raises(ModelVersionNotFoundError):
        published.get_version("colours:v1")


def test_deleting_the_task_keeps_the_version(published_version: dict[str, Any]) -> None:
    from autolearn.tasks.lifecycle import delete_task

    delete_task(published_version["task_id"])
    view = published.get_version(published_version["id"])
    assert view["task_id"] is None and view["card"]["task_id"] == published_version["task_id"]
    assert path_from_file_uri(view["artifact_uri"]).is_file()


def test_a_compiled_gpu_profile_is_published_as_its_model_pt(
    finished_task: dict[str, Any],
) -> None:
    """A GPU profile optimised with torch.compile leaves ``model.pt`` (fp16 weights and
    the engine in its metadata), not an ONNX file: it publishes, and loads back (as plain
    PyTorch on a machine without CUDA)."""
    from autolearn.serving.compiled_predictor import compiled_artifact
    from autolearn.serving.predictor import Predictor
    from autolearn.serving.runtime import load_runtime
    from autolearn.storage import open_store
    from autolearn.tasks.results import MODEL_KEY, optimized_key
    from autolearn.training.callbacks.checkpoint import save_torch

    store = open_store(finished_task["output_uri"])
    original = Predictor.from_file(store.uri(MODEL_KEY), device="cpu")
    artifact = compiled_artifact(original.model, original.meta, "fp16")
    save_torch(store, optimized_key("gpu-t4-fp16", "model.pt"), artifact)
    report = {"status": "ready", "meta": artifact["meta"], "after": {"accuracy": 0.75}}
    store.put_json(optimized_key("gpu-t4-fp16", "report.json"), report)
    view = published.publish(finished_task["id"], "colours", profile="gpu-t4-fp16")
    assert (view["format"], view["profile"]) == ("pytorch", "gpu-t4-fp16")
    assert view["artifact_uri"].endswith("/models/colours/v1/model.pt")
    runtime = load_runtime(view["artifact_uri"])
    assert runtime.meta["engine"] == "torch-compile-cudagraphs"
    assert runtime.classes == ["blue", "red"]
