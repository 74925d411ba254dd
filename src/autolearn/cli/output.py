"""Printing for people (rich tables) and scripts (``--json``), and error handling."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

console = Console()
err_console = Console(stderr=True)
T = TypeVar("T")


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")


def user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions whose message is meant for the user (no traceback)."""
    import httpx

    from autolearn.datasets.formats.base import DatasetError
    from autolearn.models.published import ModelVersionError
    from autolearn.optimize.errors import (
        ExportError,
        ExportFormatError,
        OptimizeError,
        ProfileError,
    )
    from autolearn.registry import RegistryError
    from autolearn.sdk.client import ApiError
    from autolearn.serving.errors import ServiceError
    from autolearn.storage import StorageError
    from autolearn.tasks.service import TaskError

    return (
        TaskError,
        DatasetError,
        ModelVersionError,
        ServiceError,
        OptimizeError,
        ProfileError,
        ExportError,
        ExportFormatError,
        RegistryError,
        StorageError,
        FileNotFoundError,
        ApiError,
        httpx.TransportError,
    )


@contextmanager
def friendly_errors() -> Iterator[None]:
    """Turn a user-fixable error into 'error: …' and exit code 2."""
    try:
        yield
    except user_errors() as exc:
        message = getattr(exc, "message", None) or str(exc)  # ApiError: the server's words
        if type(exc).__module__.startswith("httpx"):
            message = f"cannot reach the server ({exc}); check --server or AUTOLEARN_SERVER"
        err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
        raise typer.Exit(2) from None


def run(fn: Callable[[], T]) -> T:
    with friendly_errors():
        return fn()


def table(title: str | None, columns: list[str], rows: list[list[Any]]) -> Table:
    t = Table(title=title, header_style="bold")
    for col in columns:
        t.add_column(col)
    for row in rows:
        t.add_row(*["" if v is None else str(v) for v in row])
    return t


def fmt_metric(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else ("" if value is None else str(value))


def fmt_seconds(value: float | None) -> str:
    if value is None:
        return "-"
    value = int(value)
    return f"{value // 3600}:{value % 3600 // 60:02d}:{value % 60:02d}"
