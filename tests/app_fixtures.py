"""App fixtures for the API and console tests: an app per test on the test's throw-away
AUTOLEARN_HOME, with three users: an admin and two members (``alice``, ``bob``), each with
an API token (and a console password ``<name>-password-123``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from autolearn.api.app import create_app


@pytest.fixture
def app(autolearn_home: Path) -> FastAPI:
    return create_app()


@pytest.fixture
def tokens(autolearn_home: Path) -> dict[str, str]:
    """username → API token for ``root`` (admin), ``alice`` and ``bob`` (members)."""
    from autolearn.accounts.service import create_token, create_user

    made = {}
    for name, role in (("root", "admin"), ("alice", "member"), ("bob", "member")):
        user = create_user(name, role, password=f"{name}-password-123")
        made[name] = create_token(user["id"], "tests")["token"]
    return made


@pytest.fixture
def as_user(app: FastAPI, tokens: dict[str, str]) -> Iterator[Callable[[str | None], TestClient]]:
    """``as_user("alice")`` is a client with alice's token; ``as_user(None)`` is anonymous."""
    clients: list[TestClient] = []

    def make(name: str | None) -> TestClient:
        headers = {"Authorization": f"Bearer {tokens[name]}"} if name else {}
        c = TestClient(app, headers=headers)
        c.__enter__()
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture
def client(as_user: Callable[[str | None], TestClient]) -> TestClient:
    """The admin's client (sees everything)."""
    return as_user("root")


def zip_folder(folder: Path, pattern: str = "*") -> bytes:
    """The files under ``folder`` matching ``pattern`` as zip bytes, paths relative to it
    (what a user uploads)."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for file in sorted(folder.rglob(pattern)):
            if file.is_file():
                archive.write(file, file.relative_to(folder).as_posix())
    return buffer.getvalue()


def console_session(app: FastAPI, username: str = "alice") -> tuple[TestClient, str]:
    """A client holding ``username``'s console session cookie, and its CSRF token
    (the ``tokens`` fixture's users have the password ``<name>-password-123``)."""
    browser = TestClient(app)
    browser.__enter__()
    answer = browser.post(
        "/api/v1/account/login",
        json={"username": username, "password": f"{username}-password-123"},
    )
    assert answer.status_code == 200, answer.text
    return browser, str(answer.json()["csrf_token"])


@pytest.fixture
def live_server(autolearn_home: Path) -> Iterator[tuple[str, str]]:
    """(url, admin token) of a real API server (uvicorn in a thread, on a free port; no
    queue: tasks stay QUEUED), for the CLI's ``--server`` tests."""
    import socket
    import threading
    import time

    import uvicorn

    from autolearn.accounts.service import create_token, create_user
    from autolearn.api.app import create_app

    token = create_token(create_user("root", "admin")["id"])["token"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(), port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the test server did not start"
    yield f"http://127.0.0.1:{port}", token
    server.should_exit = True
    thread.join(timeout=10)
