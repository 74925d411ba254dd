"""Users, tokens and sessions: secrets only hashed at rest, and every way a credential
stops working (revoked, expired, user deactivated, session expired or logged out)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from autolearn.accounts import service
from autolearn.accounts.hashing import hash_password, verify_password
from autolearn.db import ApiToken, User, WebSession, session_scope
from autolearn.db.models import utcnow


def test_tokens_are_stored_only_as_keyed_hashes(autolearn_home: Path) -> None:
    user = service.create_user("ann", "member")
    made = service.create_token(user["id"], "ci")
    token = made["token"]
    assert token.startswith("al_") and len(token) > 40
    with session_scope() as s:
        row = s.scalars(select(ApiToken)).one()
        assert token not in (row.token_hash, row.prefix) and row.prefix == token[:10]
    db_bytes = (autolearn_home / "autolearn.db").read_bytes()
    assert token.encode() not in db_bytes
    found = service.authenticate_token(token)
    assert found is not None and (found.username, found.role) == ("ann", "member")
    assert "token" not in service.list_tokens(user["id"])[0]


def test_a_token_stops_working_when_revoked_expired_or_its_user_is_deactivated(
    autolearn_home: Path,
) -> None:
    user = service.create_user("ann", "member")
    a, b, c = (service.create_token(user["id"])["token"] for _ in range(3))
    service.revoke_token(user["id"], service.list_tokens(user["id"])[0]["id"])
    assert service.authenticate_token(a) is None
    with session_scope() as s:
        row = s.scalars(select(ApiToken).order_by(ApiToken.id)).all()[1]
        row.expires_at = utcnow() - timedelta(seconds=1)
    assert service.authenticate_token(b) is None
    assert service.authenticate_token(c) is not None
    service.update_user(user["id"], active=False)
    assert service.authenticate_token(c) is None
    assert service.authenticate_token("al_" + "x" * 43) is None
    assert service.authenticate_token("not-a-token") is None


def test_changing_the_secret_key_invalidates_tokens(
    autolearn_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from autolearn.settings import get_settings

    token = service.create_token(service.create_user("ann")["id"])["token"]
    monkeypatch.setenv("AUTOLEARN_SECRET_KEY", "another-secret-" + "x" * 40)
    get_settings.cache_clear()
    assert service.authenticate_token(token) is None


def test_passwords_use_scrypt_and_login_gives_one_answer_for_every_mismatch(
    autolearn_home: Path,
) -> None:
    stored = hash_password("correct horse battery")
    assert stored.startswith("scrypt$") and "correct" not in stored
    assert verify_password("correct horse battery", stored)
    assert not verify_password("wrong", stored) and not verify_password("x", None)
    service.create_user("ann", "member", password="correct horse battery")
    service.create_user("svc", "member")  # token-only: no password ever matches
    for name, password in (("ann", "nope"), ("nobody", "x" * 12), ("svc", "")):
        with pytest.raises(service.AccountError, match="wrong username or password"):
            service.login(name, password)
    login = service.login("ANN", "correct horse battery")  # usernames ignore case
    principal, csrf = service.authenticate_session(login.session_id) or (None, "")
    assert principal is not None and principal.username == "ann" and csrf == login.csrf_token
    with session_scope() as s:
        row = s.scalars(select(WebSession)).one()
        assert row.session_hash != login.session_id
    service.logout(login.session_id)
    assert service.authenticate_session(login.session_id) is None


def test_sessions_expire_and_end_when_the_password_changes(autolearn_home: Path) -> None:
    user = service.create_user("ann", "member", password="correct horse battery")
    first = service.login("ann", "correct horse battery")
    with session_scope() as s:
        s.scalars(select(WebSession)).one().expires_at = utcnow() - timedelta(seconds=1)
    assert service.authenticate_session(first.session_id) is None
    second = service.login("ann", "correct horse battery")
    service.update_user(user["id"], password="another long password")
    assert service.authenticate_session(second.session_id) is None


@pytest.mark.parametrize(
    ("username", "role", "password", "message"),
    [
        ("bad name", "member", None, "username"),
        ("ann", "owner", None, "role 'owner'"),
        ("ann", "member", "short", "at least 10"),
    ],
)
def test_bad_user_requests_say_what_to_fix(
    autolearn_home: Path, username: str, role: str, password: str | None, message: str
) -> None:
    with pytest.raises(service.AccountError, match=message):
        service.create_user(username, role, password)
    with session_scope() as s:
        assert s.scalars(select(User)).all() == []


def test_usernames_are_unique_ignoring_case(autolearn_home: Path) -> None:
    service.create_user("Ann")
    with pytest.raises(service.AccountError, match="taken"):
        service.create_user("ann")


def test_production_refuses_the_development_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from autolearn.settings import Settings

    monkeypatch.setenv("AUTOLEARN_ENVIRONMENT", "production")
    monkeypatch.delenv("AUTOLEARN_SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="AUTOLEARN_SECRET_KEY"):
        Settings()
    monkeypatch.setenv("AUTOLEARN_SECRET_KEY", "short")
    with pytest.raises(ValidationError, match="at least 32"):
        Settings()
    monkeypatch.setenv("AUTOLEARN_SECRET_KEY", "k" * 40)
    assert Settings().environment == "production"
    monkeypatch.setenv("AUTOLEARN_ENVIRONMENT", "development")
    monkeypatch.delenv("AUTOLEARN_SECRET_KEY")
    assert Settings().environment == "development"  # fine on a laptop
