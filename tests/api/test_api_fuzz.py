"""Schemathesis over the app's own OpenAPI schema: whatever a client sends, the answer
is never a 5xx (invalid bodies are 422s that name the field, tested in test_tasks_api)."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from autolearn.api.app import create_app

schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())


@pytest.fixture
def member_token(autolearn_home: Path) -> str:
    """Every generated request runs against a throw-away database and store, as a
    member (so the permission checks run too, not just the 401 in front of them)."""
    from autolearn.accounts.service import create_token, create_user

    return str(create_token(create_user("fuzz", "member")["id"])["token"])


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case: schemathesis.Case, member_token: str) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Bearer {member_token}"}, checks=[not_a_server_error]
    )
