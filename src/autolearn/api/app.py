"""The FastAPI application: routers, JSON errors, ``/healthz`` and ``/metrics``.

``create_app()`` builds a fresh app (tests make one per test); nothing here opens the
database at import time, so the app starts in well under a second.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import Response

from autolearn.api import errors
from autolearn.api.metrics import HttpMetrics, MetricsMiddleware
from autolearn.api.routes import (
    account,
    dataset_imports,
    datasets,
    evaluations,
    labelling,
    models,
    tasks,
    users,
)


def create_app() -> FastAPI:
    app = FastAPI(
        title="autolearn",
        description="Self-hosted AutoML for computer vision: datasets, training tasks, models.",
        version="1",
    )
    metrics = HttpMetrics()
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    errors.install(app)
    for module in (
        account,
        users,
        datasets,
        dataset_imports,
        labelling,
        tasks,
        models,
        evaluations,
    ):
        app.include_router(module.router)

    @app.get("/healthz", tags=["service"], summary="Liveness and database reachability")
    def healthz() -> dict[str, Any]:
        from sqlalchemy import text

        from autolearn.db import session_scope

        with session_scope() as s:
            s.execute(text("SELECT 1"))
        return {"status": "ok"}

    @app.get("/metrics", tags=["service"], summary="Prometheus metrics")
    def prometheus() -> Response:
        return metrics.exposition()

    return app
