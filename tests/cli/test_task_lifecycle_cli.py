"""``autolearn task copy / delete`` and ``autolearn dataset delete`` on this machine's
services: what they print, what they ask, and what they refuse."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from autolearn.cli.main import app
from autolearn.datasets.service import import_dataset
from autolearn.storage import open_store
from autolearn.tasks.service import TaskNotFoundError, get_task

runner = CliRunner()


def _cli(*args: str, input: str | None = None) -> Result:
    return runner.invoke(app, list(args), input=input)


def _json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def task(autolearn_home: Path, make_learnable_folder: Callable[..., Path]) -> dict[str, Any]:
    """A QUEUED task on dataset ``colours:v1`` (no worker: it stays queued)."""
    import_dataset(make_learnable_folder(autolearn_home / "colours", {"a": 8, "b": 8}), "colours")
    create = ["task", "create", "--dataset", "colours", "--pretrained", "test_tiny"]
    return dict(_json(_cli(*create, "--name", "first", "--no-start-worker", "--json")))


def test_copy_queues_the_same_form_under_a_new_name_and_folder(task: dict[str, Any]) -> None:
    copied = _json(_cli("task", "copy", str(task["id"]), "--no-start-worker", "--json"))
    assert copied["id"] == task["id"] + 1 and copied["status"] == "QUEUED"
    assert copied["name"] == "first-copy" and copied["output_uri"] != task["output_uri"]
    assert copied["plan"] == task["plan"] and copied["dataset"] == "colours:v1"
    assert copied["spec"]["model"] == task["spec"]["model"]

    named = _cli("task", "copy", str(task["id"]), "--name", "again", "--no-start-worker")
    assert named.exit_code == 0, named.output
    assert f"task {task['id'] + 2} again: QUEUED" in named.output
    assert "data colours:v1" in named.output  # the plan, as `task create` prints it

    missing = _cli("task", "copy", "99", "--no-start-worker")
    assert missing.exit_code == 2 and "task 99 does not exist" in missing.output


def test_copy_starts_a_queue_worker_unless_told_not_to(
    task: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[str] = []
    monkeypatch.setattr("autolearn.cli.task._ensure_worker", started.append)
    assert _cli("task", "copy", str(task["id"])).exit_code == 0
    assert _cli("task", "copy", str(task["id"]), "--no-start-worker").exit_code == 0
    assert started == [task["region"]]


def test_delete_refuses_an_active_task_before_asking(task: dict[str, Any]) -> None:
    asked = _cli("task", "delete", str(task["id"]), input="y\n")
    told = _cli("task", "delete", str(task["id"]), "--yes")  # the service's refusal
    assert asked.exit_code == told.exit_code == 2
    assert "Delete task" not in asked.output
    assert f"task {task['id']} is QUEUED; stop it first" in asked.output
    assert asked.output == told.output
    assert get_task(task["id"])["status"] == "QUEUED"


def test_delete_asks_first_and_removes_the_task_with_its_artifacts(task: dict[str, Any]) -> None:
    task_id = str(task["id"])
    assert _cli("task", "stop", task_id).exit_code == 0
    declined = _cli("task", "delete", task_id, input="n\n")
    assert declined.exit_code == 1 and "Delete task" in declined.output
    assert open_store(task["output_uri"]).list()  # nothing removed

    deleted = _cli("task", "delete", task_id, input="y\n")
    assert deleted.exit_code == 0, deleted.output
    assert f"first, STOPPED) and its artifacts under {task['output_uri']}?" in deleted.output
    assert f"deleted task {task_id} (first): 2 objects removed from" in deleted.output
    assert not open_store(task["output_uri"]).list()
    with pytest.raises(TaskNotFoundError):
        get_task(task["id"])
    again = _cli("task", "delete", task_id, "--yes")
    assert again.exit_code == 2 and f"task {task_id} does not exist" in again.output


def test_delete_json_is_the_services_answer(task: dict[str, Any]) -> None:
    _cli("task", "stop", str(task["id"]))
    answer = _json(_cli("task", "delete", str(task["id"]), "--yes", "--json"))
    assert answer == {
        "id": task["id"],
        "name": "first",
        "deleted": True,
        "output_uri": task["output_uri"],
        "removed_objects": 2,
    }


def test_dataset_delete_refuses_while_a_task_uses_it_and_asks_first(
    task: dict[str, Any], autolearn_home: Path, make_learnable_folder: Callable[..., Path]
) -> None:
    used = _cli("dataset", "delete", "colours", "--yes")
    assert used.exit_code == 2 and "used by 1 task(s): task 1 ('first', on v1)" in used.output

    import_dataset(make_learnable_folder(autolearn_home / "spare", {"a": 4, "b": 4}), "spare")
    declined = _cli("dataset", "delete", "spare", input="n\n")
    assert declined.exit_code == 1 and "Delete dataset spare (spare:v1)?" in declined.output
    assert _json(_cli("dataset", "show", "spare", "--json"))["ref"] == "spare:v1"

    deleted = _cli("dataset", "delete", "spare", input="y\n")
    assert deleted.exit_code == 0 and "deleted dataset spare (v1)" in deleted.output
    missing = _cli("dataset", "delete", "spare", "--yes", "--json")
    assert missing.exit_code == 2 and "no dataset named 'spare'" in missing.output

    _cli("task", "stop", "1")
    _cli("task", "delete", "1", "--yes")
    answer = _json(_cli("dataset", "delete", "colours", "--yes", "--json"))
    assert answer == {"name": "colours", "deleted_versions": [1]}
