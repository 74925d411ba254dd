"""The SDK against the real app (in-process transport): the same data as the services,
and the API's errors as ``ApiError`` with code, message and fields."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from autolearn.datasets.service import import_dataset
from autolearn.sdk import ApiError, Client
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
