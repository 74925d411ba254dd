"""``autolearn server``: settings refused before serving, and the multi-worker listener
made so that accepted connections get TCP_NODELAY (uvicorn's own leaves proto at 0)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from autolearn.cli import server
from autolearn.cli.main import app


def test_the_multi_worker_listener_is_a_tcp_socket() -> None:
    sock = server.tcp_listener("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP and sock.get_inheritable()
        # what asyncio checks before it sets TCP_NODELAY on accepted connections
        sock.listen()
        client = socket.create_connection(sock.getsockname())
        accepted, _ = sock.accept()
        assert accepted.proto == socket.IPPROTO_TCP
        accepted.close()
        client.close()
    finally:
        sock.close()


def test_several_workers_share_that_listener(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    class FakeMultiprocess:
        def __init__(self, config: Any, sockets: list[socket.socket]) -> None:
            seen["workers"], seen["sockets"] = config.workers, sockets

        def run(self) -> None:
            for sock in seen["sockets"]:
                sock.close()

    monkeypatch.setattr("uvicorn.supervisors.Multiprocess", FakeMultiprocess)
    server._serve("127.0.0.1", 0, workers=3)
    assert seen["workers"] == 3 and [s.proto for s in seen["sockets"]] == [socket.IPPROTO_TCP]


def test_production_without_a_secret_is_refused_before_serving(
    autolearn_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from autolearn.settings import get_settings

    monkeypatch.setenv("AUTOLEARN_ENVIRONMENT", "production")
    get_settings.cache_clear()
    served = []
    monkeypatch.setattr(server, "_serve", lambda *a: served.append(a))
    out = CliRunner().invoke(app, ["server", "--no-queue"])
    assert out.exit_code == 2 and "AUTOLEARN_SECRET_KEY" in out.output and served == []
