"""An app per test, on the test's throw-away AUTOLEARN_HOME."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from autolearn.api.app import create_app


@pytest.fixture
def client(autolearn_home: Path) -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c
