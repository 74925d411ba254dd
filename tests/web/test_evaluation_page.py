"""The Evaluation page without a browser: the shell for its owner (with the element ids the
browser tests and the script use), the sign-in redirect, and the API data the script
draws from: a finished tiny task's report with its bad cases, whose images the data
center serves, and none of it for another member."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from autolearn.datasets.service import import_dataset
from autolearn.db import Task, session_scope
from autolearn.storage import open_store
from autolearn.tasks.results import REPORT_KEY

PAGE_IDS = ("metrics-table", "confusion-matrix", "pr-curves", "per-class-table", "bad-cases")


@pytest.fixture
def browser(app: FastAPI, tokens: dict[str, str]) -> Iterator[TestClient]:
    """alice signed in to the console (session cookie), not following redirects."""
    with TestClient(app, follow_redirects=False) as c:
        answer = c.post(
            "/api/v1/account/login", json={"username": "alice", "password": "alice-password-123"}
        )
        assert answer.status_code == 200
        yield c


@pytest.fixture
def colours(autolearn_home: Path, make_learnable_folder: Callable[..., Path]) -> str:
    make_learnable_folder(autolearn_home / "colours", {"red": 12, "green": 12})
    import_dataset(autolearn_home / "colours", name="colours")
    return "colours"


def _alices_task(as_user: Callable[[str | None], TestClient], spec: dict[str, Any]) -> int:
    created = as_user("alice").post("/api/v1/tasks", json=spec)
    assert created.status_code in (200, 201), created.text
    return int(created.json()["id"])


def test_the_page_is_a_shell_for_the_signed_in_user(
    app: FastAPI, browser: TestClient, tokens: dict[str, str]
) -> None:
    page = browser.get("/console/evaluations/7")
    assert page.status_code == 200
    assert 'data-task-id="7"' in page.text and "/static/js/evaluation.js" in page.text
    for element_id in PAGE_IDS:
        assert f'id="{element_id}"' in page.text
    assert browser.get("/console/evaluations/0").status_code == 422
    for path in ("/static/js/evaluation.js", "/static/js/plots.js"):
        assert browser.get(path).status_code == 200
    with TestClient(app, follow_redirects=False) as anon:
        gone = anon.get("/console/evaluations/7")
        assert gone.status_code == 303
        assert gone.headers["location"] == "/console/login?next=/console/evaluations/7"


def test_another_member_cannot_read_the_evaluation(
    as_user: Callable[[str | None], TestClient],
    colours: str,
    tiny_spec: Callable[..., dict[str, Any]],
) -> None:
    """A report written by hand (no training): its owner reads it, bob gets 404 like
    for a task that does not exist, so the page shows him nothing."""
    task_id = _alices_task(as_user, tiny_spec())
    report = {
        "metrics": {"accuracy": 0.5},
        "best_epoch": 1,
        "classes": ["green", "red"],
        "confusion_matrix": [[1, 1], [0, 2]],
        "per_class": [],
        "history": [],
        "bad_cases": [{"sha256": "0" * 64, "true": "green", "predicted": "red"}],
    }
    with session_scope() as s:
        row = s.get(Task, task_id)
        assert row is not None
        open_store(row.output_uri).put_json(REPORT_KEY, report)
        row.status, row.metrics = "SUCCEED", {"accuracy": 0.5, "best_epoch": 1}
    mine = as_user("alice").get(f"/api/v1/evaluations/{task_id}")
    assert mine.status_code == 200 and mine.json()["report"]["bad_cases"] == report["bad_cases"]
    theirs = as_user("bob").get(f"/api/v1/evaluations/{task_id}")
    assert theirs.status_code == 404
    assert as_user("bob").get(f"/api/v1/tasks/{task_id}").status_code == 404
    assert as_user("bob").get("/api/v1/evaluations").json()["items"] == []


@pytest.mark.slow
def test_a_trained_task_has_what_the_page_draws(
    as_user: Callable[[str | None], TestClient],
    browser: TestClient,
    colours: str,
    tiny_spec: Callable[..., dict[str, Any]],
) -> None:
    """Real training (test_tiny, a few seconds) with one epoch and a tiny learning rate,
    so that some validation images stay wrong: the report has the metrics, matrix, per
    class rows, history and bad cases, and each bad case's image is served from the
    task's pinned dataset version, as the page asks for it."""
    from autolearn.scheduler.worker import run_task

    spec = tiny_spec(hyperparams={"epochs": 1, "lr": 1e-6})
    task_id = _alices_task(as_user, spec)
    assert run_task(task_id).value == "SUCCEED"

    alice = as_user("alice")
    evaluation = alice.get(f"/api/v1/evaluations/{task_id}").json()
    assert evaluation["metric"] == "accuracy" and evaluation["scenario"] == "classification"
    report = evaluation["report"]
    assert "accuracy" in report["metrics"] and len(report["confusion_matrix"]) == 2
    assert [r["class"] for r in report["per_class"]] == ["green", "red"]
    assert report["history"] and report["history"][0]["epoch"] == 1
    cases = report["bad_cases"]
    wrong = sum(
        n for i, row in enumerate(report["confusion_matrix"]) for j, n in enumerate(row) if i != j
    )
    assert len(cases) == wrong > 0
    assert {c["true"] for c in cases} <= {"green", "red"}
    assert all(c["true"] != c["predicted"] and 0.0 <= c["confidence"] <= 1.0 for c in cases)

    dataset = alice.get(f"/api/v1/tasks/{task_id}").json()["spec"]["data"]["source"]["dataset"]
    name, version = dataset.rsplit(":v", 1)
    assert name == "colours" and version.isdigit()
    listed = alice.get(f"/api/v1/datasets/{name}/versions/{version}/images", params={"limit": 100})
    labels = {row["sha256"]: row["label"] for row in listed.json()["items"]}
    for case in cases:
        assert labels[case["sha256"]] == case["true"]  # the sha256 is the data center's id
        image = browser.get(f"/api/v1/datasets/{name}/versions/{version}/images/{case['sha256']}")
        assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    assert browser.get(f"/console/evaluations/{task_id}").status_code == 200
    assert as_user("bob").get(f"/api/v1/evaluations/{task_id}").status_code == 404
