"""The SDK's methods for published model versions (``/api/v1/model-versions``) and online
services (``/api/v1/services``), mixed into ``Client`` (kept apart so that ``client.py``
stays readable)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

READY_POLL_S = 0.5


class ModelsMixin:
    """One method per route; ``self`` is a ``Client``, which provides these two."""

    http: httpx.Client
    if TYPE_CHECKING:

        def _call(self, method: str, path: str, **kwargs: Any) -> Any: ...
        def _download(self, path: str, dest: str | Path, fallback: str) -> Path: ...

    # -- published model versions ---------------------------------------------------------
    def publish_model(
        self, task_id: int, name: str, profile: str = "pytorch", description: str = ""
    ) -> dict[str, Any]:
        """Publish a task's model (or an optimised profile of it) as ``name``'s next version."""
        body = {"task_id": task_id, "name": name, "profile": profile, "description": description}
        return dict(self._call("POST", "/api/v1/model-versions", json=body))

    def list_model_versions(
        self, name: str | None = None, limit: int = 50, offset: int = 0
    ) -> dict[str, Any]:
        """``{"items", "total", "limit", "offset"}``, newest first."""
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if name:
            params["name"] = name
        return dict(self._call("GET", "/api/v1/model-versions", params=params))

    def get_model_version(self, ref: str | int) -> dict[str, Any]:
        """A version (id, ``name:vN`` or ``name``) with its metadata, metrics and card."""
        return dict(self._call("GET", f"/api/v1/model-versions/{ref}"))

    def download_model_version(self, ref: str | int, dest: str | Path = ".") -> Path:
        """Save the artifact to ``dest`` (a file, or a folder for ``<name>-v<N>.pt|.onnx``);
        written to a temporary name first, never left half-written."""
        fallback = f"model-{str(ref).replace(':', '-')}"
        return self._download(f"/api/v1/model-versions/{ref}/download", dest, fallback)

    def delete_model_version(self, ref: str | int) -> dict[str, Any]:
        """Refused (``model_version_in_use``) while a service uses it."""
        return dict(self._call("DELETE", f"/api/v1/model-versions/{ref}"))

    # -- online services ------------------------------------------------------------------
    def deploy_model(
        self, model: str | int, name: str | None = None, **config: Any
    ) -> dict[str, Any]:
        """A running service for a version; ``config``: ``max_batch``, ``max_wait_ms``,
        ``queue_size``, ``micro_batching``, ``threads``."""
        body = {"model": str(model), "name": name, **config}
        return dict(self._call("POST", "/api/v1/services", json=body))

    def list_services(self, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        params = {"limit": limit, "offset": offset}
        return dict(self._call("GET", "/api/v1/services", params=params))

    def get_service(self, service_id: int) -> dict[str, Any]:
        return dict(self._call("GET", f"/api/v1/services/{service_id}"))

    def stop_service(self, service_id: int) -> dict[str, Any]:
        return dict(self._call("POST", f"/api/v1/services/{service_id}/stop"))

    def start_service(self, service_id: int) -> dict[str, Any]:
        return dict(self._call("POST", f"/api/v1/services/{service_id}/start"))

    def delete_service(self, service_id: int) -> dict[str, Any]:
        return dict(self._call("DELETE", f"/api/v1/services/{service_id}"))

    def service_health(self, service_id: int) -> dict[str, Any]:
        """``state``, ``ready``, ``queue_depth`` and batch statistics."""
        return dict(self._call("GET", f"/api/v1/services/{service_id}/health"))

    def predict_service(
        self,
        service_id: int,
        image: bytes | str | Path,
        *,
        threshold: float | None = None,
        top_k: int = 5,
        wait_s: float = 0.0,
    ) -> dict[str, Any]:
        """Predictions on one image (its bytes or a file), sent as a multipart upload.
        ``wait_s``: keep retrying that long while the service's model is still loading
        (503 ``not_ready``)."""
        from autolearn.sdk.client import ApiError

        data = image if isinstance(image, bytes) else Path(image).read_bytes()
        params: dict[str, Any] = {"top_k": top_k}
        if threshold is not None:
            params["threshold"] = threshold
        deadline = time.monotonic() + wait_s
        path = f"/api/v1/services/{service_id}/predict"
        while True:
            try:
                files = {"image": ("image", data, "application/octet-stream")}
                return dict(self._call("POST", path, params=params, files=files))
            except ApiError as err:
                if err.code != "not_ready" or "loading" not in err.message:
                    raise
                if time.monotonic() >= deadline:
                    raise
                time.sleep(READY_POLL_S)
