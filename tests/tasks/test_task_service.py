"""The task service's list pages, copy and delete, without the API in front, on SQLite
and (marker ``postgres``) PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from autolearn.accounts import Principal
from autolearn.datasets.service import import_dataset
from autolearn.db import Task, session_scope
from autolearn.storage import StorageError, open_store
from autolearn.tasks import lifecycle
from autolearn.tasks.lifecycle import copy_task, delete_task
from autolearn.tasks.service import (
    DELETING,
    TaskError,
    TaskNotFoundError,
    TaskStateError,
    create_task,
    get_task,
    list_tasks,
    merge_spec,
    parse_spec,
    resume_task,
    stop_task,
    task_page,
)
from autolearn.tasks.trained import trained_page

ALICE = Principal(2, "alice", "member")
BOB = Principal(3, "bob", "member")


@pytest.fixture
def make(
    autolearn_home: Path,
    database: str,
    make_learnable_folder: Callable[..., Path],
    tiny_spec: Callable[..., dict[str, Any]],
) -> Callable[..., dict[str, Any]]:
    """``make(name=..., actor=..., **spec sections)`` queues a task on 'colours', on
    SQLite and on PostgreSQL (the JSON conditions compile differently there)."""
    from autolearn.accounts.service import create_user

    create_user("root", "admin")
    for user in (ALICE, BOB):
        create_user(user.username, "member")
    import_dataset(make_learnable_folder(autolearn_home / "colours", {"a": 6, "b": 6}))

    def _make(name: str = "tiny", actor: Principal | None = None, **sections: Any) -> dict:
        spec = merge_spec(tiny_spec(), {"basic": {"name": name}, **sections})
        return create_task(parse_spec(spec), actor=actor)

    return _make


def _set(task_id: int, **fields: Any) -> None:
    with session_scope() as s:
        row = s.get(Task, task_id)
        assert row is not None
        for key, value in fields.items():
            setattr(row, key, value)


def test_merge_spec_merges_sections_and_replaces_a_retyped_source() -> None:
    base = {
        "basic": {"name": "a", "description": "d"},
        "data": {"source": {"type": "dataset", "dataset": "c:v1"}, "validation_percent": 20},
    }
    merged = merge_spec(base, {"basic": {"name": "b"}, "data": {"source": {"dataset": "c:v2"}}})
    assert merged["basic"] == {"name": "b", "description": "d"}
    assert merged["data"] == {
        "source": {"type": "dataset", "dataset": "c:v2"},
        "validation_percent": 20,
    }
    sample = merge_spec(base, {"data": {"source": {"type": "sample", "sample": "digits"}}})
    assert sample["data"]["source"] == {"type": "sample", "sample": "digits"}
    assert base["data"]["source"] == {"type": "dataset", "dataset": "c:v1"}  # not mutated


def test_task_page_counts_and_scopes(make: Callable[..., dict[str, Any]]) -> None:
    mine = [make("one", ALICE)["id"], make("two", ALICE)["id"]]
    make("other", BOB)
    page = task_page(actor=ALICE, limit=1)
    assert page["total"] == 2 and [t["id"] for t in page["items"]] == [mine[1]]
    assert task_page()["total"] == 3  # the embedded CLI sees everything
    assert [t["name"] for t in list_tasks(None, 10, actor=ALICE, sort="name")] == ["one", "two"]
    with pytest.raises(TaskError, match="-metric"):
        task_page(sort="speed")
    with pytest.raises(TaskError, match="detection"):
        task_page(scenario="audio")


def test_sorting_by_each_tasks_own_metric_and_the_trained_list(
    make: Callable[..., dict[str, Any]],
) -> None:
    good, better, by_f1, none = (make(n)["id"] for n in ("good", "better", "f1", "none"))
    _set(good, status="SUCCEED", metrics={"accuracy": 0.5, "best_epoch": 1})
    _set(better, status="SUCCEED", metrics={"accuracy": 0.9, "best_epoch": 3})
    with session_scope() as s:  # monitors f1: its low accuracy must not count
        row = s.get(Task, by_f1)
        assert row is not None
        row.plan = {**row.plan, "metric": "f1"}
        row.status, row.metrics = "STOPPED", {"accuracy": 0.1, "f1": 0.95, "best_epoch": 2}
    assert [t["id"] for t in task_page(sort="-metric")["items"]] == [by_f1, better, good, none]
    assert [t["id"] for t in task_page(sort="metric")["items"]] == [good, better, by_f1, none]
    trained = trained_page()
    assert trained["total"] == 3
    assert [(m["task_id"], m["metric"], m["value"]) for m in trained["items"]] == [
        (by_f1, "f1", 0.95),
        (better, "accuracy", 0.9),
        (good, "accuracy", 0.5),
    ]
    assert trained_page(scenario="detection")["total"] == 0


def test_a_nan_metric_does_not_break_sorting_or_the_model_list(
    make: Callable[..., dict[str, Any]], database: str
) -> None:
    """A diverged run can store NaN, which SQLite's JSON functions refuse: the row sorts
    as having no value instead of failing every list."""
    if not database.startswith("sqlite"):
        pytest.skip("PostgreSQL refuses NaN in a JSON column when it is written")
    good, odd = make("good")["id"], make("odd")["id"]
    _set(good, status="SUCCEED", metrics={"accuracy": 0.5, "best_epoch": 1})
    _set(odd, status="SUCCEED", metrics={"accuracy": float("nan"), "loss": float("nan")})
    assert [t["id"] for t in task_page(sort="-metric")["items"]] == [good, odd]
    assert [t["task_id"] for t in trained_page()["items"]] == [good]


def test_copy_task_takes_the_form_and_belongs_to_the_caller(
    make: Callable[..., dict[str, Any]],
) -> None:
    original = make("base", ALICE, model={"hyperparams": {"epochs": 4}})
    copied = copy_task(
        original["id"], overrides={"model": {"hyperparams": {"lr": 0.02}}}, actor=None
    )
    assert copied["owner_id"] is None and copied["name"] == "base-copy"
    assert copied["plan"]["epochs"] == 4 and copied["plan"]["lr"] == 0.02
    assert copied["spec"]["data"] == original["spec"]["data"]
    named = copy_task(original["id"], "renamed", actor=ALICE)
    assert named["owner_id"] == ALICE.user_id and named["name"] == "renamed"
    long = make("x" * 64, ALICE)
    assert copy_task(long["id"], actor=ALICE)["name"] == "x" * 59 + "-copy"
    with pytest.raises(TaskNotFoundError):
        copy_task(original["id"], actor=BOB)


def test_delete_refuses_active_tasks_and_bases_of_incremental_ones(
    make: Callable[..., dict[str, Any]],
) -> None:
    base = make("base")
    with pytest.raises(TaskStateError, match="stop it first"):
        delete_task(base["id"])
    _set(base["id"], status="SUCCEED", metrics={"accuracy": 1.0, "best_epoch": 1})
    child_spec = merge_spec(
        base["spec"], {"data": {"incremental": {"enabled": True, "base_task": base["id"]}}}
    )
    with session_scope() as s:  # an incremental task on it, still queued
        child = Task(
            name="child",
            scenario="classification",
            region="local",
            status="QUEUED",
            spec=child_spec,
            output_uri="",
        )
        s.add(child)
        s.flush()
        child_id = child.id
    with pytest.raises(TaskStateError, match=f"incremental task\\(s\\) {child_id}"):
        delete_task(base["id"])
    _set(child_id, status="SUCCEED")  # done with its base: the base may go
    assert delete_task(base["id"])["deleted"] is True


def test_a_failed_artifact_removal_leaves_a_marked_row_that_a_second_delete_finishes(
    make: Callable[..., dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    task = make("doomed")
    stop_task(task["id"])
    _set(task["id"], metrics={"accuracy": 1.0, "best_epoch": 1})
    real = lifecycle.remove_outputs

    def failing(uri: str, whole_folder: bool) -> int:
        raise StorageError(f"could not delete the artifacts under {uri}: disk on fire")

    monkeypatch.setattr(lifecycle, "remove_outputs", failing)
    with pytest.raises(StorageError):
        delete_task(task["id"])
    marked = get_task(task["id"])
    assert marked["stop_reason"] == DELETING and marked["metrics"] == {}
    assert trained_page()["total"] == 0  # its model is no longer offered
    with pytest.raises(TaskStateError, match="being deleted"):
        resume_task(task["id"])
    assert open_store(task["output_uri"]).list()  # nothing was half-removed behind the row

    monkeypatch.setattr(lifecycle, "remove_outputs", real)
    assert delete_task(task["id"])["removed_objects"] == 2
    with pytest.raises(TaskNotFoundError):
        get_task(task["id"])


def test_the_list_knows_every_scenario_of_the_form() -> None:
    from typing import get_args

    from autolearn.tasks.listing import SCENARIOS
    from autolearn.tasks.spec import BasicInfo

    assert get_args(BasicInfo.model_fields["scenario"].annotation) == SCENARIOS
