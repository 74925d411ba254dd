"""``Client``: the REST API from Python, with the API's JSON errors raised as ``ApiError``
(status, machine-readable code, the message meant for a person, the bad fields).

The transport is an ``httpx.Client``: pass your own (timeouts, proxies, or Starlette's
``TestClient`` in tests) or let the client make one for ``base_url``.
"""

from __future__ import annotations

from typing import Any

import httpx

from autolearn.tasks.spec import TaskSpec


class ApiError(Exception):
    """An error answer from the server, as ``{"error": {"code", "message", "fields"}}``."""

    def __init__(self, status: int, code: str, message: str, fields: list[dict] | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message
        self.fields = fields or []


class Client:
    """``Client("http://host:8000", token=...)``; every method returns the JSON body."""

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

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        if response.is_success:
            return response.json()
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

    # -- service ------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        return dict(self._call("GET", "/healthz"))

    # -- tasks --------------------------------------------------------------------------
    def create_task(self, spec: TaskSpec | dict[str, Any]) -> dict[str, Any]:
        """Queue a task from a TaskSpec (or its dict form, validated by the server)."""
        body = spec.model_dump(mode="json") if isinstance(spec, TaskSpec) else spec
        return dict(self._call("POST", "/api/v1/tasks", json=body))

    def list_tasks(
        self, status: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if status:
            params["status"] = status
        return list(self._call("GET", "/api/v1/tasks", params=params)["items"])

    def get_task(self, task_id: int) -> dict[str, Any]:
        return dict(self._call("GET", f"/api/v1/tasks/{task_id}"))

    def stop_task(self, task_id: int) -> dict[str, Any]:
        return dict(self._call("POST", f"/api/v1/tasks/{task_id}/stop"))

    def resume_task(self, task_id: int) -> dict[str, Any]:
        return dict(self._call("POST", f"/api/v1/tasks/{task_id}/resume"))

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

    # -- datasets -----------------------------------------------------------------------
    def list_datasets(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/api/v1/datasets"))

    def get_dataset(self, name: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/api/v1/datasets/{name}"))

    def get_version(self, name: str, version: str | int) -> dict[str, Any]:
        """``version``: 3, "v3" or "@<hash prefix>"."""
        return dict(self._call("GET", f"/api/v1/datasets/{name}/versions/{version}"))
