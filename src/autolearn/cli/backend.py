"""Where CLI commands act: on this machine's services (embedded, the default) or on a
server through the SDK (``autolearn --server URL``, with ``--token`` or
``AUTOLEARN_TOKEN``).

Both return the same dicts (the API returns what the services return), so every
command renders one way whatever the backend: the same tables, bars and ``--json``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

from autolearn.tasks.spec import TaskSpec

SERVER_ENV, TOKEN_ENV = "AUTOLEARN_SERVER", "AUTOLEARN_TOKEN"


class Backend(Protocol):
    remote: bool

    def create_task(self, spec: TaskSpec) -> dict[str, Any]: ...
    def list_tasks(self, status: str | None, limit: int) -> list[dict[str, Any]]: ...
    def get_task(self, task_id: int) -> dict[str, Any]: ...
    def show_task(self, task_id: int) -> dict[str, Any]: ...
    def stop_task(self, task_id: int) -> dict[str, Any]: ...
    def resume_task(self, task_id: int) -> dict[str, Any]: ...
    def copy_task(self, task_id: int, name: str | None) -> dict[str, Any]: ...
    def delete_task(self, task_id: int) -> dict[str, Any]: ...
    def task_logs(self, task_id: int, after_id: int) -> list[dict[str, Any]]: ...
    def task_events(
        self, task_id: int, after_id: int, kind: str | None
    ) -> list[dict[str, Any]]: ...
    def list_datasets(self) -> list[dict[str, Any]]: ...
    def get_dataset(self, name: str) -> dict[str, Any]: ...
    def show_version(self, ref: str) -> dict[str, Any]: ...
    def import_dataset(self, path: Path, **options: Any) -> dict[str, Any]: ...
    def delete_dataset(self, name: str) -> dict[str, Any]: ...


class Embedded:
    """This machine's database and store, with no user scoping (the local operator)."""

    remote = False

    def create_task(self, spec: TaskSpec) -> dict[str, Any]:
        from autolearn.tasks.service import create_task

        return create_task(spec)

    def list_tasks(self, status: str | None, limit: int) -> list[dict[str, Any]]:
        from autolearn.tasks.service import list_tasks

        return list_tasks(status, limit)

    def get_task(self, task_id: int) -> dict[str, Any]:
        from autolearn.tasks.service import get_task

        return get_task(task_id)

    def show_task(self, task_id: int) -> dict[str, Any]:
        from autolearn.tasks.results import read_report

        task = self.get_task(task_id)
        task["report"] = read_report(task)
        return task

    def stop_task(self, task_id: int) -> dict[str, Any]:
        from autolearn.tasks.service import stop_task

        return stop_task(task_id)

    def resume_task(self, task_id: int) -> dict[str, Any]:
        from autolearn.tasks.service import resume_task

        return resume_task(task_id)

    def copy_task(self, task_id: int, name: str | None) -> dict[str, Any]:
        from autolearn.tasks.lifecycle import copy_task

        return copy_task(task_id, name)

    def delete_task(self, task_id: int) -> dict[str, Any]:
        from autolearn.tasks.lifecycle import delete_task

        return delete_task(task_id)

    def task_logs(self, task_id: int, after_id: int) -> list[dict[str, Any]]:
        from autolearn.tasks.service import task_logs

        return task_logs(task_id, after_id=after_id)

    def task_events(self, task_id: int, after_id: int, kind: str | None) -> list[dict[str, Any]]:
        from autolearn.tasks.service import task_events

        return task_events(task_id, after_id=after_id, kind=kind)

    def list_datasets(self) -> list[dict[str, Any]]:
        from autolearn.datasets.service import list_datasets

        return list_datasets()

    def get_dataset(self, name: str) -> dict[str, Any]:
        from autolearn.datasets.service import show_dataset

        return show_dataset(name)

    def show_version(self, ref: str) -> dict[str, Any]:
        from autolearn.datasets.service import resolve_version

        return resolve_version(ref).to_dict()

    def import_dataset(self, path: Path, **options: Any) -> dict[str, Any]:
        from autolearn.datasets.service import import_dataset

        return import_dataset(path, **options).to_dict()

    def delete_dataset(self, name: str) -> dict[str, Any]:
        from autolearn.datasets.deletion import delete_dataset

        return delete_dataset(name)


class Remote:
    """A server, through ``autolearn.sdk.Client``."""

    remote = True

    def __init__(self, server: str, token: str | None) -> None:
        from autolearn.sdk import Client

        self.client = Client(server.rstrip("/"), token=token)

    def create_task(self, spec: TaskSpec) -> dict[str, Any]:
        return self.client.create_task(spec)

    def list_tasks(self, status: str | None, limit: int) -> list[dict[str, Any]]:
        return self.client.list_tasks(status=status, limit=limit)

    def get_task(self, task_id: int) -> dict[str, Any]:
        return self.client.get_task(task_id)

    def show_task(self, task_id: int) -> dict[str, Any]:
        return self.client.get_task(task_id)  # the API's show carries the report

    def stop_task(self, task_id: int) -> dict[str, Any]:
        return self.client.stop_task(task_id)

    def resume_task(self, task_id: int) -> dict[str, Any]:
        return self.client.resume_task(task_id)

    def copy_task(self, task_id: int, name: str | None) -> dict[str, Any]:
        return self.client.copy_task(task_id, name)

    def delete_task(self, task_id: int) -> dict[str, Any]:
        return self.client.delete_task(task_id)

    def task_logs(self, task_id: int, after_id: int) -> list[dict[str, Any]]:
        return self.client.task_logs(task_id, after_id=after_id)

    def task_events(self, task_id: int, after_id: int, kind: str | None) -> list[dict[str, Any]]:
        return self.client.task_events(task_id, after_id=after_id, kind=kind)

    def list_datasets(self) -> list[dict[str, Any]]:
        return self.client.list_datasets()

    def get_dataset(self, name: str) -> dict[str, Any]:
        return self.client.get_dataset(name)

    def show_version(self, ref: str) -> dict[str, Any]:
        """``name``, ``name:vN`` or ``name@hash`` (version ids are local to a database)."""
        from autolearn.datasets.formats.base import DatasetError

        if "@" in ref:
            name, prefix = ref.rsplit("@", 1)
            return self.client.get_version(name, f"@{prefix}")
        if ":" in ref:
            name, number = ref.rsplit(":", 1)
            return self.client.get_version(name, number)
        if ref.isdigit():
            raise DatasetError(f"give a dataset name (name:vN) with --server, not the id {ref}")
        latest = self.client.get_dataset(ref)["latest"]
        if latest is None:
            raise DatasetError(f"dataset {ref!r} has no versions yet; import one")
        return self.client.get_version(ref, latest.rsplit(":", 1)[1])

    def import_dataset(self, path: Path, **options: Any) -> dict[str, Any]:
        """Upload ``path`` (a zip as it is; the SDK zips a folder on the fly)."""
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist")
        name = options.pop("name", None) or (path.stem if path.is_file() else path.name)
        return self.client.upload_dataset(name, path, **options)

    def delete_dataset(self, name: str) -> dict[str, Any]:
        return self.client.delete_dataset(name)


_selected: dict[str, str | None] = {"server": None, "token": None}


def configure(server: str | None, token: str | None) -> None:
    """Called by the app's callback with ``--server`` / ``--token`` (or their env vars)."""
    _selected["server"] = server or os.environ.get(SERVER_ENV) or None
    _selected["token"] = token or os.environ.get(TOKEN_ENV) or None


def current() -> Backend:
    server = _selected["server"]
    return Remote(server, _selected["token"]) if server else Embedded()
