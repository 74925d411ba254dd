"""The SDK's methods for optimising and exporting a trained model
(``/api/v1/models/{task_id}/optimizations`` and ``/export``), mixed into ``Client``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

POLL_S = 1.0


class OptimizeMixin:
    """One method per route; ``self`` is a ``Client``."""

    http: httpx.Client
    if TYPE_CHECKING:

        def _call(self, method: str, path: str, **kwargs: Any) -> Any: ...
        def _download(self, path: str, dest: str | Path, fallback: str) -> Path: ...

    def optimize_model(
        self, task_id: int, target: str = "cpu", level: str = "INT8", max_metric_drop: float = 1.0
    ) -> dict[str, Any]:
        """Start an optimisation (the server runs it in the background): ``{"task_id",
        "profile", "status": "running"}``; ``wait_optimization`` follows it."""
        body = {"target": target, "level": level, "max_metric_drop": max_metric_drop}
        return dict(self._call("POST", f"/api/v1/models/{task_id}/optimizations", json=body))

    def list_optimizations(self, task_id: int) -> list[dict[str, Any]]:
        found = self._call("GET", f"/api/v1/models/{task_id}/optimizations")
        return list(found["optimizations"])

    def get_optimization(self, task_id: int, profile: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/api/v1/models/{task_id}/optimizations/{profile}"))

    def wait_optimization(
        self, task_id: int, profile: str, timeout: float = 3600.0
    ) -> dict[str, Any]:
        """The report once it is no longer ``running``; ``TimeoutError`` after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            report = self.get_optimization(task_id, profile)
            if report.get("status") != "running":
                return report
            if time.monotonic() > deadline:
                raise TimeoutError(f"optimisation {profile} of task {task_id} still running")
            time.sleep(POLL_S)

    def export_model(self, task_id: int, fmt: str, dest: str | Path) -> Path:
        """Save the model as ``onnx`` or ``torchscript`` (or its ``card``) to ``dest`` (a
        file, or a folder for the server's file name); never left half-written."""
        fallback = f"task{task_id}-{'model_card.json' if fmt == 'card' else fmt}"
        return self._download(f"/api/v1/models/{task_id}/export/{fmt}", dest, fallback)
