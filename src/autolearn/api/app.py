"""The FastAPI application: routers, JSON errors, ``/healthz`` and ``/metrics``.

``create_app()`` builds a fresh app (tests make one per test); nothing here opens the
database at import time, so the app starts in well under a second.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import Response

from autolearn.api import errors
from autolearn.api.metrics import HttpMetrics, MetricsMiddleware
from autolearn.api.routes import (
    account,
    billing,
    dataset_imports,
    datasets,
    evaluations,
    labelling,
    model_versions,
    models,
    optimizations,
    regions,
    services,
    tasks,
    users,
)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """As many request threads as pooled database connections (``db_pool_size``): a
    thread never waits for a connection, and no connection is opened per request."""
    from anyio import to_thread

    from autolearn.settings import get_settings

    to_thread.current_default_thread_limiter().total_tokens = get_settings().db_pool_size
    yield
    from autolearn.api.routes import optimizations
    from autolearn.serving.manager import shutdown

    shutdown()  # the online services' batcher threads and models
    optimizations.shutdown()  # background optimisations finish their reports


def _mount_console(app: FastAPI) -> None:
    """The web console: its pages (outside the OpenAPI schema) and its static files."""
    from fastapi.staticfiles import StaticFiles

    from autolearn.web import (
        billing_pages,
        dataset_pages,
        evaluation_pages,
        model_pages,
        pages,
        task_pages,
    )

    for module in (pages, task_pages, dataset_pages, evaluation_pages, billing_pages, model_pages):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=pages.HERE / "static"), name="static")


def create_app() -> FastAPI:
    app = FastAPI(
        lifespan=_lifespan,
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
        optimizations,
        evaluations,
        regions,
        model_versions,
        services,
        billing,
    ):
        app.include_router(module.router)
    _mount_console(app)

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
