"""``Client``: the REST API from Python, with the API's JSON errors raised as ``ApiError``
(status, machine-readable code, the message meant for a person, the bad fields).

The transport is an ``httpx.Client``: pass your own (timeouts, proxies, or Starlette's
``TestClient`` in tests) or let the client make one for ``base_url``.
"""

from __future__ import annotations

import json
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from autolearn.sdk.billing import BillingMixin
from autolearn.sdk.models import ModelsMixin
from autolearn.sdk.optimize import OptimizeMixin
from autolearn.tasks.spec import TaskSpec

RECONNECT_S = 1.0  # wait before following a task's progress again after the server closed


class ApiError(Exception):
    """An error answer from the server, as ``{"error": {"code", "message", "fields"}}``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: list[dict] | None = None,
        body: dict[str, Any] | None = None,
    ):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message
        self.fields = fields or []
        self.body = body or {}  # the whole error object, e.g. an import's "report"


class Client(ModelsMixin, OptimizeMixin, BillingMixin):
    """``Client("http://host:8000", token=...)``; every method returns the JSON body
    (published model versions and services: ``sdk/models.py``)."""

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8000",
        token: str | None = None,
        http: httpx.Client | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self.http = http or httpx.Client(base_url=base_url, timeout=timeout_s)
        if token:
            self.http.headers["Authorization"] = f"Bearer {token}"

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The response if it succeeded; otherwise its JSON error raised as ``ApiError``."""
        response = self.http.request(method, path, **kwargs)
        if response.is_success:
            return response
        try:
            error = response.json()["error"]
        except (ValueError, KeyError, TypeError):
            raise ApiError(response.status_code, "http_error", response.text[:500]) from None
        raise ApiError(
            response.status_code,
            error.get("code", "error"),
            error.get("message", ""),
            error.get("fields"),
            error,
        )

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON body of a successful call (None for an empty one, e.g. a 204)."""
        response = self._send(method, path, **kwargs)
        return response.json() if response.content else None

    # -- service ------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        return dict(self._call("GET", "/healthz"))

    # -- tasks --------------------------------------------------------------------------
    def create_task(self, spec: TaskSpec | dict[str, Any]) -> dict[str, Any]:
        """Queue a task from a TaskSpec (or its dict form, validated by the server)."""
        body = spec.model_dump(mode="json") if isinstance(spec, TaskSpec) else spec
        return dict(self._call("POST", "/api/v1/tasks", json=body))

    def preview_task(self, spec: TaskSpec | dict[str, Any]) -> dict[str, Any]:
        """The plan and advice creating this task would give, without queueing it."""
        body = spec.model_dump(mode="json") if isinstance(spec, TaskSpec) else spec
        return dict(self._call("POST", "/api/v1/tasks/preview", json=body))

    def list_tasks(
        self, status: str | None = None, limit: int = 50, offset: int = 0, **filters: Any
    ) -> list[dict[str, Any]]:
        """The tasks of one page (``filters``: see ``task_page``)."""
        return list(self.task_page(status, limit=limit, offset=offset, **filters)["items"])

    def task_page(
        self,
        status: str | None = None,
        *,
        scenario: str | None = None,
        name: str | None = None,
        dataset: str | None = None,
        sort: str = "-created",
        limit: int = 50,
        offset: int = 0,
    ) -> dict[str, Any]:
        """``{"items", "total", "limit", "offset", "sort"}``. ``status`` may list several
        (``"RUNNING,QUEUED"``); ``name`` matches a part of the name; ``dataset`` is a name
        or ``name:vN``; ``sort``: created, name, status, metric, ``-`` for descending."""
        given = {"status": status, "scenario": scenario, "name": name, "dataset": dataset}
        params: dict[str, Any] = {k: v for k, v in given.items() if v}
        params.update(sort=sort, limit=limit, offset=offset)
        return dict(self._call("GET", "/api/v1/tasks", params=params))

    def get_task(self, task_id: int) -> dict[str, Any]:
        return dict(self._call("GET", f"/api/v1/tasks/{task_id}"))

    def stop_task(self, task_id: int) -> dict[str, Any]:
        return dict(self._call("POST", f"/api/v1/tasks/{task_id}/stop"))

    def resume_task(self, task_id: int) -> dict[str, Any]:
        return dict(self._call("POST", f"/api/v1/tasks/{task_id}/resume"))

    def copy_task(
        self, task_id: int, name: str | None = None, overrides: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A new queued task of mine from ``task_id``'s form, ``overrides`` merged in."""
        body = {"name": name, "overrides": overrides or {}}
        return dict(self._call("POST", f"/api/v1/tasks/{task_id}/copy", json=body))

    def delete_task(self, task_id: int) -> dict[str, Any]:
        """A finished task with its artifacts (``task_state_conflict`` while it runs)."""
        return dict(self._call("DELETE", f"/api/v1/tasks/{task_id}"))

    def task_events(
        self, task_id: int, after_id: int = 0, kind: str | None = None
    ) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"after_id": after_id}
        if kind:
            params["kind"] = kind
        return list(self._call("GET", f"/api/v1/tasks/{task_id}/events", params=params))

    def task_logs(self, task_id: int, after_id: int = 0) -> list[dict[str, Any]]:
        path = f"/api/v1/tasks/{task_id}/logs"
        return list(self._call("GET", path, params={"after_id": after_id}))

    def follow_task(self, task_id: int, after_id: int = 0) -> Iterator[dict[str, Any]]:
        """The task's events as they happen (``{"id", "kind", "epoch", "step", "data"}``),
        from the live progress stream, until the task ends. When the server closes a long
        stream, this reconnects from the last event, as a browser's EventSource does."""
        last, first = after_id, True
        while True:
            if not first:
                time.sleep(RECONNECT_S)  # as EventSource waits before reconnecting
            first = False
            headers = {"Last-Event-ID": str(last)}
            path = f"/api/v1/tasks/{task_id}/progress"
            with self.http.stream("GET", path, headers=headers, timeout=None) as response:
                _raise_for(response)
                for message in _sse_messages(response.iter_lines()):
                    if message["event"] == "end":
                        return
                    last = int(message.get("id") or last)
                    yield json.loads(message["data"])

    # -- models and evaluations ---------------------------------------------------------
    def list_models(
        self, scenario: str | None = None, limit: int = 50, offset: int = 0
    ) -> dict[str, Any]:
        """Trained models (``{"items", "total", ...}``): scenario, metric, classes, size."""
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if scenario:
            params["scenario"] = scenario
        return dict(self._call("GET", "/api/v1/models", params=params))

    def get_model(self, task_id: int) -> dict[str, Any]:
        """A model's metadata (``meta``) and per-class ``score_thresholds``."""
        return dict(self._call("GET", f"/api/v1/models/{task_id}"))

    def download_model(self, task_id: int, dest: str | Path = ".") -> Path:
        """Save ``model.pt`` to ``dest`` (a file, or a folder for the server's file name);
        returns the path. Written to a temporary name first, never left half-written."""
        return self._download(f"/api/v1/models/{task_id}/download", dest, f"task{task_id}.pt")

    def _download(self, path: str, dest: str | Path, fallback: str) -> Path:
        """Stream ``path`` to ``dest`` (a file, or a folder for the name the server gives,
        else ``fallback``) through a ``.part`` file renamed at the end: a broken download
        never looks complete."""
        dest = Path(dest)
        with self.http.stream("GET", path) as response:
            _raise_for(response)
            target = dest / (_filename(response) or fallback) if dest.is_dir() else dest
            partial = target.with_name(f".{target.name}.part")
            with partial.open("wb") as fh:
                for chunk in response.iter_bytes():
                    fh.write(chunk)
        partial.replace(target)
        return target

    def predict(
        self,
        task_id: int,
        image: bytes | str | Path,
        *,
        threshold: float | None = None,
        top_k: int = 5,
    ) -> dict[str, Any]:
        """Predictions on one image (its bytes or a file): ``predictions`` (classification)
        or ``detections`` with boxes in the image's pixels."""
        data = image if isinstance(image, bytes) else Path(image).read_bytes()
        params: dict[str, Any] = {"top_k": top_k}
        if threshold is not None:
            params["threshold"] = threshold
        headers = {"Content-Type": "application/octet-stream"}
        path = f"/api/v1/models/{task_id}/predict"
        return dict(self._call("POST", path, content=data, params=params, headers=headers))

    def list_evaluations(
        self, scenario: str | None = None, limit: int = 50, offset: int = 0
    ) -> dict[str, Any]:
        """Tasks with an evaluation report and their headline metric."""
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if scenario:
            params["scenario"] = scenario
        return dict(self._call("GET", "/api/v1/evaluations", params=params))

    def get_evaluation(self, task_id: int) -> dict[str, Any]:
        """The task's evaluation ``report`` (``evaluation_not_found`` until it has one)."""
        return dict(self._call("GET", f"/api/v1/evaluations/{task_id}"))

    # -- datasets -----------------------------------------------------------------------
    def list_datasets(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/api/v1/datasets"))

    def get_dataset(self, name: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/api/v1/datasets/{name}"))

    def get_version(self, name: str, version: str | int) -> dict[str, Any]:
        """``version``: 3, "v3" or "@<hash prefix>"."""
        return dict(self._call("GET", f"/api/v1/datasets/{name}/versions/{version}"))

    def upload_dataset(
        self,
        name: str,
        source: str | Path | bytes,
        *,
        fmt: str = "auto",
        policy: str = "strict",
        description: str = "",
        scenario: str | None = None,
    ) -> dict[str, Any]:
        """Upload a .zip (its path or its bytes) or a folder (zipped first, in a temporary
        file) as the next version of ``name``. A refused import raises ``ApiError`` with
        code ``import_refused``; ``err.body["report"]`` holds every finding."""
        params: dict[str, Any] = {"format": fmt, "policy": policy, "description": description}
        if scenario:
            params["scenario"] = scenario
        if isinstance(source, bytes):
            return self._upload(name, source, params)
        path = Path(source)
        params["filename"] = path.name if path.is_file() else f"{path.name}.zip"
        if path.is_file():
            with path.open("rb") as fh:  # streamed, with its Content-Length
                return self._upload(name, fh, params)
        if not path.is_dir():
            raise FileNotFoundError(f"{path} is neither a .zip file nor a folder")
        with tempfile.TemporaryDirectory(prefix="autolearn-upload-") as tmp:
            archive = Path(tmp) / params["filename"]
            _zip_folder(path, archive)
            with archive.open("rb") as fh:
                return self._upload(name, fh, params)

    def _upload(self, name: str, body: Any, params: dict[str, Any]) -> dict[str, Any]:
        headers = {"Content-Type": "application/zip"}
        path = f"/api/v1/datasets/{name}/upload"
        return dict(self._call("POST", path, content=body, params=params, headers=headers))

    def import_dataset(
        self,
        name: str,
        source: str,
        *,
        fmt: str = "auto",
        policy: str = "strict",
        description: str = "",
        scenario: str | None = None,
        shared: bool = False,
    ) -> dict[str, Any]:
        """(Admins) import a folder or .zip that is on the server; ``shared``: every user
        may read the dataset."""
        body = {
            "source": source,
            "format": fmt,
            "policy": policy,
            "description": description,
            "scenario": scenario,
            "shared": shared,
        }
        return dict(self._call("POST", f"/api/v1/datasets/{name}/import", json=body))

    def delete_dataset(self, name: str) -> dict[str, Any]:
        """Refused (``dataset_in_use``) while a task uses one of its versions."""
        return dict(self._call("DELETE", f"/api/v1/datasets/{name}"))

    def dataset_images(
        self,
        name: str,
        version: str | int,
        *,
        limit: int = 100,
        offset: int = 0,
        split: str | None = None,
        cls: str | None = None,
        labelled: bool | None = None,
    ) -> dict[str, Any]:
        """A page of a version's images: ``{"total", "items": [...], ...}``; each item has
        its sha256, file name, size, split, label or boxes and ``url``."""
        params = _page_params(limit, offset, split, cls, labelled)
        path = f"/api/v1/datasets/{name}/versions/{version}/images"
        return dict(self._call("GET", path, params=params))

    def image_bytes(self, name: str, version: str | int, sha256: str) -> bytes:
        """One image's file, as it was imported."""
        path = f"/api/v1/datasets/{name}/versions/{version}/images/{sha256}"
        return self._send("GET", path).content

    # -- labelling ----------------------------------------------------------------------
    def open_draft(self, name: str, version: str | int) -> dict[str, Any]:
        """A labelling draft on a version (owner or admin); nothing changes until commit."""
        return dict(self._call("POST", f"/api/v1/datasets/{name}/versions/{version}/drafts"))

    def list_drafts(self, name: str) -> list[dict[str, Any]]:
        return list(self._call("GET", f"/api/v1/datasets/{name}/drafts"))

    def get_draft(self, name: str, draft_id: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/api/v1/datasets/{name}/drafts/{draft_id}"))

    def draft_images(
        self,
        name: str,
        draft_id: str,
        *,
        limit: int = 100,
        offset: int = 0,
        split: str | None = None,
        cls: str | None = None,
        labelled: bool | None = None,
    ) -> dict[str, Any]:
        """Like ``dataset_images``, with the draft's edits applied."""
        params = _page_params(limit, offset, split, cls, labelled)
        path = f"/api/v1/datasets/{name}/drafts/{draft_id}/images"
        return dict(self._call("GET", path, params=params))

    def add_edits(
        self, name: str, draft_id: str, edits: dict[str, Any] | list[dict[str, Any]]
    ) -> dict[str, Any]:
        """One edit or several, e.g. ``{"op": "set_label", "item": sha256, "label": "cat"}``;
        all are kept or none."""
        body = {"edits": [edits] if isinstance(edits, dict) else list(edits)}
        path = f"/api/v1/datasets/{name}/drafts/{draft_id}/edits"
        return dict(self._call("POST", path, json=body))

    def commit_draft(self, name: str, draft_id: str, message: str = "") -> dict[str, Any]:
        """The draft as the dataset's next version (returned)."""
        path = f"/api/v1/datasets/{name}/drafts/{draft_id}/commit"
        return dict(self._call("POST", path, json={"message": message}))

    def discard_draft(self, name: str, draft_id: str) -> None:
        self._call("DELETE", f"/api/v1/datasets/{name}/drafts/{draft_id}")

    # -- regions --------------------------------------------------------------------------
    def regions(self) -> list[dict[str, Any]]:
        """Worker pools with their workers, slots, running and queued tasks."""
        return list(self._call("GET", "/api/v1/regions"))

    # -- account and users ----------------------------------------------------------------
    def me(self) -> dict[str, Any]:
        """The user this client's token belongs to."""
        return dict(self._call("GET", "/api/v1/account"))

    def create_token(self, name: str = "", ttl_days: int | None = None) -> dict[str, Any]:
        """A new token for me; its ``token`` is in this answer only."""
        body = {"name": name, "ttl_days": ttl_days}
        return dict(self._call("POST", "/api/v1/account/tokens", json=body))

    def list_tokens(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/api/v1/account/tokens"))

    def revoke_token(self, token_id: int) -> dict[str, Any]:
        return dict(self._call("DELETE", f"/api/v1/account/tokens/{token_id}"))

    def list_users(self) -> list[dict[str, Any]]:
        """Admins only."""
        return list(self._call("GET", "/api/v1/users"))

    def create_user(
        self, username: str, role: str = "member", password: str | None = None
    ) -> dict[str, Any]:
        body = {"username": username, "role": role, "password": password}
        return dict(self._call("POST", "/api/v1/users", json=body))

    def update_user(
        self,
        user_id: int,
        role: str | None = None,
        active: bool | None = None,
        password: str | None = None,
    ) -> dict[str, Any]:
        body = {k: v for k, v in (("role", role), ("active", active), ("password", password))}
        body = {k: v for k, v in body.items() if v is not None}
        return dict(self._call("PATCH", f"/api/v1/users/{user_id}", json=body))

    def create_user_token(self, user_id: int, name: str = "") -> dict[str, Any]:
        """A token for another user (a service account); admins only."""
        path = f"/api/v1/users/{user_id}/tokens"
        return dict(self._call("POST", path, params={"name": name}))


def _page_params(
    limit: int, offset: int, split: str | None, cls: str | None, labelled: bool | None
) -> dict[str, Any]:
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    for key, value in (("split", split), ("class", cls), ("labelled", labelled)):
        if value is not None:
            params[key] = value
    return params


def _zip_folder(folder: Path, archive: Path) -> None:
    """Zip the files under ``folder`` (stored: images are compressed already)."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        for file in sorted(folder.rglob("*")):
            if file.is_file() and not file.is_symlink():
                zf.write(file, file.relative_to(folder).as_posix())


# -- tasks, models and evaluations: streamed answers ------------------------------------


def _raise_for(response: httpx.Response) -> None:
    """A streamed answer's JSON error as ``ApiError`` (the body is read first)."""
    if response.is_success:
        return
    response.read()
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        raise ApiError(response.status_code, "http_error", response.text[:500]) from None
    raise ApiError(
        response.status_code,
        error.get("code", "error"),
        error.get("message", ""),
        error.get("fields"),
    )


def _sse_messages(lines: Iterator[str]) -> Iterator[dict[str, str]]:
    """Server-Sent Events as ``{"event", "data", "id"?}``; comments and retry hints are
    skipped."""
    fields: dict[str, str] = {}
    for line in lines:
        if not line:
            if "data" in fields:
                yield {"event": "message", **fields}
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
    if "data" in fields:
        yield {"event": "message", **fields}


def _filename(response: httpx.Response) -> str:
    """The file name the server gave (Content-Disposition), or ""."""
    disposition = response.headers.get("content-disposition", "")
    _, _, name = disposition.partition('filename="')
    return Path(name.rstrip('"')).name
