"""Models and evaluations over REST: the list of trained models, a model's metadata, its
file, predictions on an uploaded image (with the in-process model cache), and the
evaluation reports.

The fast tests write a finished task by hand (an untrained ``test_tiny`` classifier whose
head bias makes "red" win on any image, its meta and a report); the slow one trains.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

import model_fixtures
from autolearn.api.routes import models as model_routes
from autolearn.datasets.service import import_dataset
from autolearn.db import Task, session_scope
from autolearn.storage import open_store
from autolearn.tasks.results import MODEL_KEY

REPORT = {
    "metrics": {"accuracy": 0.75, "loss": 0.5},
    "best_epoch": 1,
    "stop_reason": "completed",
    "classes": ["blue", "red"],
    "confusion_matrix": [[3, 1], [1, 3]],
    "per_class": [{"class": "blue", "support": 4}, {"class": "red", "support": 4}],
    "history": [{"epoch": 1, "accuracy": 0.75}],
}


def _png(colour: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (40, 24)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def finish_with_model(task: dict[str, Any]) -> None:
    """What a successful run leaves (``model_fixtures.finish_with_model``), with this
    module's fuller report (confusion matrix, per class, history)."""
    model_fixtures.finish_with_model(task, REPORT)


@pytest.fixture
def colours(autolearn_home: Path, make_learnable_folder: Callable[..., Path]) -> str:
    import_dataset(make_learnable_folder(autolearn_home / "colours", {"red": 6, "blue": 6}))
    return "colours"


@pytest.fixture
def tasks(client: TestClient, colours: str) -> dict[str, dict[str, Any]]:
    """A task that ended with a model ("done") and one still queued ("waiting")."""
    spec = {
        "basic": {"name": "api model"},
        "data": {"source": {"type": "dataset", "dataset": colours}},
        "model": {"pretrained": "test_tiny"},
    }
    done = client.post("/api/v1/tasks", json=spec).json()
    waiting = client.post("/api/v1/tasks", json=spec).json()
    finish_with_model(done)
    return {"done": done, "waiting": waiting}


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    model_routes._cache.clear()


def test_models_list_and_show(
    client: TestClient, as_user: Callable[[str | None], TestClient], tasks: dict[str, Any]
) -> None:
    done = tasks["done"]
    listed = client.get("/api/v1/models").json()
    assert listed["total"] == 1
    (item,) = listed["items"]
    assert item["task_id"] == done["id"] and item["scenario"] == "classification"
    assert (item["metric"], item["value"], item["best_epoch"]) == ("accuracy", 0.75, 1)
    assert item["classes"] == ["blue", "red"] and item["input_size"] == done["plan"]["input_size"]
    assert item["model"] == "test_tiny" and item["created_at"] == done["created_at"]
    assert client.get("/api/v1/models", params={"scenario": "detection"}).json()["total"] == 0
    assert as_user("alice").get("/api/v1/models").json() == {
        "items": [],
        "total": 0,
        "limit": 50,
        "offset": 0,
    }

    shown = client.get(f"/api/v1/models/{done['id']}").json()
    assert shown["meta"]["classes"] == ["blue", "red"] and shown["meta"]["best_epoch"] == 1
    assert shown["value"] == 0.75 and shown["score_thresholds"] is None  # classification
    assert shown["model_uri"].endswith("/model/model.pt")
    missing = client.get(f"/api/v1/models/{tasks['waiting']['id']}")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "model_not_found"
    assert "QUEUED" in missing.json()["error"]["message"]
    unknown = client.get("/api/v1/models/999")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "task_not_found"


def test_download_streams_model_pt(client: TestClient, tasks: dict[str, Any]) -> None:
    done = tasks["done"]
    response = client.get(f"/api/v1/models/{done['id']}/download")
    assert response.status_code == 200
    assert response.content == open_store(done["output_uri"]).get_bytes(MODEL_KEY)
    disposition = response.headers["content-disposition"]
    assert disposition == f'attachment; filename="api_model-task{done["id"]}.pt"'
    waiting = client.get(f"/api/v1/models/{tasks['waiting']['id']}/download")
    assert waiting.status_code == 404 and waiting.json()["error"]["code"] == "model_not_found"


def test_predict_on_an_uploaded_image(client: TestClient, tasks: dict[str, Any]) -> None:
    task_id = tasks["done"]["id"]
    url = f"/api/v1/models/{task_id}/predict"
    answer = client.post(url, content=_png(), headers={"Content-Type": "image/png"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["task_id"], body["scenario"], body["width"], body["height"]) == (
        task_id,
        "classification",
        40,
        24,
    )
    assert [p["label"] for p in body["predictions"]] == ["red", "blue"]
    assert body["predictions"][0]["score"] > 0.9
    top1 = client.post(url, params={"top_k": 1}, content=_png()).json()
    assert len(top1["predictions"]) == 1

    corrupt = client.post(url, content=_png()[:40])
    assert corrupt.status_code == 422 and corrupt.json()["error"]["code"] == "invalid_image"
    not_image = client.post(url, content=b"%PDF-1.4 not a picture")
    assert not_image.status_code == 422 and "not a readable image" in not_image.text
    empty = client.post(url, content=b"")
    assert empty.status_code == 422 and "empty" in empty.json()["error"]["message"]
    waiting = client.post(f"/api/v1/models/{tasks['waiting']['id']}/predict", content=_png())
    assert waiting.status_code == 404 and waiting.json()["error"]["code"] == "model_not_found"


def test_predict_refuses_oversized_uploads(
    client: TestClient, tasks: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(model_routes, "MAX_IMAGE_BYTES", 100)
    response = client.post(f"/api/v1/models/{tasks['done']['id']}/predict", content=b"x" * 101)
    assert response.status_code == 413 and response.json()["error"]["code"] == "image_too_large"
    monkeypatch.setenv("AUTOLEARN_IMPORT_MAX_PIXELS", "100")
    from autolearn.settings import get_settings

    get_settings.cache_clear()
    monkeypatch.setattr(model_routes, "MAX_IMAGE_BYTES", 10**6)
    big = client.post(f"/api/v1/models/{tasks['done']['id']}/predict", content=_png())
    assert big.status_code == 422 and "40×24" in big.json()["error"]["message"]
    get_settings.cache_clear()


def test_predictors_are_cached_until_the_model_changes(
    client: TestClient, tasks: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from autolearn.serving.predictor import Predictor

    loads: list[str] = []
    real = Predictor.from_file.__func__  # type: ignore[attr-defined]

    def counting(cls: type[Predictor], uri: str, device: str | None = None) -> Predictor:
        loads.append(uri)
        return real(cls, uri, device)  # type: ignore[no-any-return]

    monkeypatch.setattr(Predictor, "from_file", classmethod(counting))
    task_id = tasks["done"]["id"]
    url = f"/api/v1/models/{task_id}/predict"
    for _ in range(3):
        assert client.post(url, content=_png()).status_code == 200
    assert len(loads) == 1
    with session_scope() as s:  # resumed and trained one more epoch: a new best model
        row = s.get(Task, task_id)
        assert row is not None
        row.epoch = 2
    assert client.post(url, content=_png()).status_code == 200
    assert len(loads) == 2 and len(model_routes._cache) == 1
    model_routes.forget_predictor(task_id)
    assert not model_routes._cache


def test_evaluations(
    client: TestClient, as_user: Callable[[str | None], TestClient], tasks: dict[str, Any]
) -> None:
    done, waiting = tasks["done"], tasks["waiting"]
    report = client.get(f"/api/v1/evaluations/{done['id']}").json()
    assert report["task_id"] == done["id"] and report["metric"] == "accuracy"
    assert report["report"] == REPORT
    none_yet = client.get(f"/api/v1/evaluations/{waiting['id']}")
    assert none_yet.status_code == 404
    assert none_yet.json()["error"]["code"] == "evaluation_not_found"
    listed = client.get("/api/v1/evaluations").json()
    assert [(e["task_id"], e["metric"], e["value"]) for e in listed["items"]] == [
        (done["id"], "accuracy", 0.75)
    ]
    assert as_user("alice").get(f"/api/v1/evaluations/{done['id']}").status_code == 404
    assert as_user("alice").get("/api/v1/evaluations").json()["items"] == []


def test_deleted_tasks_leave_the_model_list(client: TestClient, tasks: dict[str, Any]) -> None:
    done = tasks["done"]
    assert client.post(f"/api/v1/models/{done['id']}/predict", content=_png()).status_code == 200
    assert client.delete(f"/api/v1/tasks/{done['id']}").status_code == 200
    assert client.get("/api/v1/models").json()["total"] == 0
    assert not model_routes._cache  # the deleted task's model is not kept in memory


@pytest.mark.slow
def test_a_trained_task_predicts_and_reports_through_the_api(
    client: TestClient,
    autolearn_home: Path,
    make_learnable_folder: Callable[..., Path],
    tiny_spec: Callable[..., dict[str, Any]],
) -> None:
    """Real training (test_tiny, a few seconds): the model the worker wrote is listed,
    predicts the right colour from uploaded bytes, and its report has the confusion matrix."""
    from autolearn.scheduler.worker import run_task

    make_learnable_folder(autolearn_home / "colours", {"red": 24, "green": 24})
    import_dataset(autolearn_home / "colours", name="colours")
    task = client.post("/api/v1/tasks", json=tiny_spec()).json()
    assert run_task(task["id"]).value == "SUCCEED"

    (model,) = client.get("/api/v1/models").json()["items"]
    assert model["task_id"] == task["id"] and model["classes"] == ["green", "red"]
    url = f"/api/v1/models/{task['id']}/predict"
    # make_learnable_folder colours the sorted classes from its palette: green gets
    # (220, 40, 40), red gets (40, 200, 60); the names are only names.
    for colour, label in [((220, 40, 40), "green"), ((40, 200, 60), "red")]:
        predicted = client.post(url, content=_png(colour, (32, 32))).json()
        assert predicted["predictions"][0]["label"] == label
    report = client.get(f"/api/v1/evaluations/{task['id']}").json()["report"]
    assert report["classes"] == ["green", "red"] and len(report["confusion_matrix"]) == 2
    meta = client.get(f"/api/v1/models/{task['id']}").json()["meta"]
    assert meta["task_id"] == task["id"] and meta["input_size"] == model["input_size"]
