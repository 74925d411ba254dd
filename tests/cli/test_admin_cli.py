"""``autolearn admin``: the first admin and its token come from the server's machine."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from autolearn.accounts.service import authenticate_token
from autolearn.cli.main import app

runner = CliRunner()


def test_admin_create_prints_a_working_token_once(autolearn_home: Path) -> None:
    out = runner.invoke(app, ["admin", "create", "root", "--json"])
    assert out.exit_code == 0, out.output
    made = json.loads(out.output)
    principal = authenticate_token(made["token"])
    assert principal is not None and principal.role == "admin"
    listed = runner.invoke(app, ["admin", "users", "--json"])
    assert [u["username"] for u in json.loads(listed.output)] == ["root"]
    assert made["token"] not in listed.output


def test_admin_create_with_a_password_from_stdin_and_bad_names(autolearn_home: Path) -> None:
    out = runner.invoke(
        app,
        ["admin", "create", "ann", "--role", "member", "--password-stdin"],
        input="a long enough password\n",
    )
    assert out.exit_code == 0 and "shown once" in out.output
    from autolearn.accounts.service import login

    assert login("ann", "a long enough password").principal.role == "member"
    again = runner.invoke(app, ["admin", "create", "ann"])
    assert again.exit_code == 2 and "taken" in again.output
    token = runner.invoke(app, ["admin", "token", "ann", "--json"])
    assert authenticate_token(json.loads(token.output)["token"]) is not None
    missing = runner.invoke(app, ["admin", "token", "nobody"])
    assert missing.exit_code == 2 and "does not exist" in missing.output
