"""``autolearn --server URL --token T …``: the same commands through a real HTTP server
(uvicorn in a thread) print what the embedded mode prints."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from autolearn.cli.main import app
from autolearn.datasets.service import import_dataset

runner = CliRunner()


def _cli(*args: str, remote: tuple[str, str] | None = None, input: str | None = None) -> Any:
    prefix = ["--server", remote[0], "--token", remote[1]] if remote else []
    return runner.invoke(app, [*prefix, *args], input=input)


def test_task_and_dataset_commands_print_the_same_through_the_server(
    live_server: tuple[str, str],
    autolearn_home: Path,
    make_learnable_folder: Callable[..., Path],
) -> None:
    import_dataset(make_learnable_folder(autolearn_home / "colours", {"a": 8, "b": 8}), "colours")
    create = ["task", "create", "--dataset", "colours", "--pretrained", "test_tiny", "--json"]
    local = _cli(*create, "--no-start-worker")
    remote = _cli(*create, remote=live_server)
    assert local.exit_code == 0 and remote.exit_code == 0, remote.output
    a, b = json.loads(local.output), json.loads(remote.output)
    assert b["id"] == a["id"] + 1 and b["plan"] == a["plan"] and b["status"] == "QUEUED"
    for args in (
        ["task", "list", "--json"],
        ["task", "list"],
        ["task", "show", str(a["id"])],
        ["task", "logs", str(a["id"])],
        ["dataset", "list"],
        ["dataset", "show", "colours:v1"],
        ["dataset", "show", "colours", "--json"],
    ):
        here, there = _cli(*args), _cli(*args, remote=live_server)
        assert here.exit_code == there.exit_code == 0, (args, there.output)
        assert here.output == there.output, args
    stopped = _cli("task", "stop", str(b["id"]), remote=live_server)
    assert stopped.exit_code == 0 and "STOPPED" in stopped.output


def test_remote_errors_are_the_servers_words(
    live_server: tuple[str, str], autolearn_home: Path
) -> None:
    missing = _cli("task", "show", "99", remote=live_server)
    assert missing.exit_code == 2 and "task 99 does not exist" in missing.output
    wrong = _cli("task", "list", remote=(live_server[0], "al_wrong"))
    assert wrong.exit_code == 2 and "unknown, revoked or expired" in wrong.output
    down = _cli("task", "list", remote=("http://127.0.0.1:9", live_server[1]))
    assert down.exit_code == 2 and "cannot reach the server" in down.output


def test_dataset_import_uploads_a_folder_and_reports_refusals_like_the_embedded_mode(
    live_server: tuple[str, str],
    autolearn_home: Path,
    make_learnable_folder: Callable[..., Path],
) -> None:
    folder = make_learnable_folder(autolearn_home / "pets", {"cat": 6, "dog": 6})
    remote = _cli("dataset", "import", str(folder), "--json", remote=live_server)
    assert remote.exit_code == 0, remote.output
    made = json.loads(remote.output)
    assert made["ref"] == "pets:v1" and made["num_images"] == 12
    assert (
        _cli("dataset", "show", "pets:v1", "--json").output
        == _cli("dataset", "show", "pets:v1", "--json", remote=live_server).output
    )
    (folder / "cat" / "0.png").write_bytes(b"not an image")
    here = _cli("dataset", "import", str(folder), "--name", "pets2")
    there = _cli("dataset", "import", str(folder), "--name", "pets3", remote=live_server)
    assert here.exit_code == there.exit_code == 2
    assert "import refused" in there.output and "0.png" in there.output


def _same_but_ids(here: Any, there: Any, ids: dict[int, int]) -> None:
    """The two outputs are equal once each embedded-mode task id in ``ids`` is replaced
    by the remote one (each mode acted on a task of its own). Lines are joined first:
    rich may wrap a long URI inside ``tasks/<id>``."""
    assert here.exit_code == there.exit_code, there.output
    text = here.output.replace("\n", "")
    for mine, theirs in ids.items():
        text = re.sub(rf"\b(task |tasks/){mine}\b", rf"\g<1>{theirs}", text)
    assert text == there.output.replace("\n", "")


def test_copy_and_delete_print_the_same_through_the_server(
    live_server: tuple[str, str],
    autolearn_home: Path,
    make_learnable_folder: Callable[..., Path],
) -> None:
    colours = make_learnable_folder(autolearn_home / "colours", {"a": 8, "b": 8})
    import_dataset(colours, "colours")
    create = ["task", "create", "--dataset", "colours", "--pretrained", "test_tiny", "--json"]
    original = json.loads(_cli(*create, "--no-start-worker").output)["id"]

    # copy: the same task from either side, ids and owners aside
    here = _cli("task", "copy", str(original), "--name", "c", "--json", "--no-start-worker")
    there = _cli("task", "copy", str(original), "--name", "c", "--json", remote=live_server)
    a, b = json.loads(here.output), json.loads(there.output)
    mine = {"id", "owner_id", "created_at", "output_uri"}
    assert b["id"] == a["id"] + 1
    assert {k: v for k, v in a.items() if k not in mine} == {
        k: v for k, v in b.items() if k not in mine
    }
    _same_but_ids(
        _cli("task", "copy", str(original), "--no-start-worker"),
        _cli("task", "copy", str(original), remote=live_server),
        {a["id"] + 2: a["id"] + 3},
    )

    # delete: the same refusals, questions and answers
    for args in (["task", "delete", str(original)], ["task", "delete", "99", "--yes"]):
        here, there = _cli(*args), _cli(*args, remote=live_server)
        assert here.exit_code == there.exit_code == 2 and here.output == there.output, args
    for task_id in (a["id"], b["id"]):
        assert _cli("task", "stop", str(task_id)).exit_code == 0
    _same_but_ids(
        _cli("task", "delete", str(a["id"]), input="y\n"),
        _cli("task", "delete", str(b["id"]), input="y\n", remote=live_server),
        {a["id"]: b["id"]},
    )
    for task_id in (a["id"] + 2, a["id"] + 3):
        assert _cli("task", "stop", str(task_id)).exit_code == 0
    here = _cli("task", "delete", str(a["id"] + 2), "--yes", "--json")
    there = _cli("task", "delete", str(a["id"] + 3), "--yes", "--json", remote=live_server)
    assert {**json.loads(here.output), "id": 0, "output_uri": ""} == {
        **json.loads(there.output),
        "id": 0,
        "output_uri": "",
    }


def test_dataset_delete_prints_the_same_through_the_server(
    live_server: tuple[str, str],
    autolearn_home: Path,
    make_learnable_folder: Callable[..., Path],
) -> None:
    colours = make_learnable_folder(autolearn_home / "colours", {"a": 8, "b": 8})
    for name in ("colours", "spare1", "spare2", "spare3", "spare4"):
        import_dataset(colours, name)
    create = ["task", "create", "--dataset", "colours", "--pretrained", "test_tiny"]
    assert _cli(*create, "--no-start-worker").exit_code == 0
    for args in (["dataset", "delete", "colours", "--yes"], ["dataset", "delete", "nope"]):
        here, there = _cli(*args), _cli(*args, remote=live_server)
        assert here.exit_code == there.exit_code == 2 and here.output == there.output, args

    here = _cli("dataset", "delete", "spare1", input="y\n")
    there = _cli("dataset", "delete", "spare2", input="y\n", remote=live_server)
    assert here.exit_code == there.exit_code == 0, there.output
    assert here.output.replace("spare1", "spare2") == there.output
    here = _cli("dataset", "delete", "spare3", "--yes", "--json")
    there = _cli("dataset", "delete", "spare4", "--yes", "--json", remote=live_server)
    assert here.output.replace("spare3", "spare4") == there.output
    assert _cli("dataset", "list", remote=live_server).output == _cli("dataset", "list").output
