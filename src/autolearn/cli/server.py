"""``autolearn server``: the REST API, and (by default) the task queue in the same
process, so one command serves a team. Workers run as their own processes, so a
server restart never loses a task: on start the queue adopts live workers and
resumes, from their checkpoints, tasks whose worker died with it."""

from __future__ import annotations

import logging
import socket
import threading

import typer

from autolearn.cli.output import console, err_console


def server(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, min=1, max=65535, help="Port to listen on."),
    queue: bool = typer.Option(
        True, "--queue/--no-queue", help="Also run the task queue (off: run `autolearn worker`)."
    ),
    regions: str = typer.Option("local", help="Comma-separated worker pools the queue runs."),
    workers: int = typer.Option(1, min=1, max=64, help="HTTP worker processes."),
) -> None:
    """Serve the API (OpenAPI docs at /docs) and run the queue."""
    from pydantic import ValidationError

    from autolearn.settings import get_settings

    try:
        settings = get_settings()
    except ValidationError as exc:
        for err in exc.errors():
            err_console.print(f"[bold red]error:[/] {err['msg'].removeprefix('Value error, ')}")
        raise typer.Exit(2) from None
    _warn_without_admin()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if queue:
        for region in [r.strip() for r in regions.split(",") if r.strip()]:
            _start_queue(region)
    console.print(
        f"autolearn API on http://{host}:{port} ({settings.environment}); "
        f"queue: {regions if queue else 'off'}"
    )
    _serve(host, port, workers)


def _serve(host: str, port: int, workers: int) -> None:
    import uvicorn

    config = uvicorn.Config(
        "autolearn.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )
    if workers == 1:
        uvicorn.Server(config).run()
        return
    from uvicorn.supervisors import Multiprocess

    Multiprocess(config, sockets=[tcp_listener(host, port)]).run()


def tcp_listener(host: str, port: int) -> socket.socket:
    """The shared listening socket for ``--workers N``, made with ``IPPROTO_TCP``.

    uvicorn's own (``Config.bind_socket``) leaves ``proto`` at 0; accepted connections
    inherit it and asyncio then skips ``TCP_NODELAY``, so every keep-alive response
    waits ~40 ms for the client's delayed ACK (uvicorn issue #3149; measured here: 44 ms
    per sequential request with 2 workers, 1 ms with 1).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def _warn_without_admin() -> None:
    from autolearn.accounts.service import count_admins

    if count_admins() == 0:
        err_console.print(
            "[yellow]no admin exists yet: nobody can use the API until you run "
            "`autolearn admin create NAME`[/]"
        )


def _start_queue(region: str) -> None:
    from autolearn.scheduler.supervisor import Supervisor

    sup = Supervisor(region=region)
    threading.Thread(target=sup.run, name=f"queue-{region}", daemon=True).start()
