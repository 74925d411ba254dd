"""``autolearn admin``: users and tokens from the server's own machine (no API needed):
the first admin is made here, since the API lets nobody in before one exists."""

from __future__ import annotations

import sys

import typer

from autolearn.cli.output import console, print_json, table

app = typer.Typer(no_args_is_help=True)


def _password(stdin: bool, prompt: bool) -> str | None:
    if stdin:
        return sys.stdin.readline().rstrip("\n")
    if prompt:
        return str(typer.prompt("password", hide_input=True, confirmation_prompt=True))
    return None


@app.command("create")
def create(
    username: str = typer.Argument(..., help="Login name (letters, digits, _ . - @)."),
    role: str = typer.Option("admin", help="admin or member."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read a console password from stdin."
    ),
    password_prompt: bool = typer.Option(
        False, "--password", help="Ask for a console password (hidden)."
    ),
    token_name: str = typer.Option("cli", help="Name of the first API token."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Create a user (an admin by default) and print its first API token, once."""
    from autolearn.accounts.service import AccountError, create_token, create_user

    try:
        user = create_user(username, role, _password(password_stdin, password_prompt))
    except AccountError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
    token = create_token(user["id"], token_name)
    if json_out:
        print_json({"user": user, "token": token["token"]})
        return
    console.print(f"created {user['role']} [bold]{user['username']}[/] (id {user['id']})")
    console.print(f"API token (shown once, store it now): [bold]{token['token']}[/]")
    console.print("use it as: export AUTOLEARN_TOKEN=<token>; autolearn --server URL …")


@app.command("users")
def users(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Every user with role and state."""
    from autolearn.accounts.service import list_users

    rows = list_users()
    if json_out:
        print_json(rows)
        return
    console.print(
        table(
            "users",
            ["id", "username", "role", "active", "password", "created"],
            [
                [u["id"], u["username"], u["role"], u["active"], u["has_password"], u["created_at"]]
                for u in rows
            ],
        )
    )


@app.command("token")
def token(
    username: str = typer.Argument(..., help="Whose token."),
    name: str = typer.Option("cli", help="What the token is for."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Make another API token for a user (printed once)."""
    from autolearn.accounts.service import AccountError, create_token, find_user

    try:
        made = create_token(find_user(username)["id"], name)
    except AccountError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
    if json_out:
        print_json(made)
        return
    console.print(f"API token for {username} (shown once): [bold]{made['token']}[/]")
