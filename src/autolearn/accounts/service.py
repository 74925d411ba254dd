"""Users, API tokens and console sessions.

Only keyed hashes of tokens and session ids reach the database (``hashing.py``); the
clear token is returned once, at creation. A deactivated user, a revoked or expired
token and an expired session all authenticate as nobody.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from autolearn.accounts import hashing
from autolearn.accounts.principal import ROLES, Principal
from autolearn.db import ApiToken, User, WebSession, session_scope
from autolearn.db.models import as_utc, iso, utcnow

USERNAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.\-@]{0,63}$")
MIN_PASSWORD = 10


class AccountError(ValueError):
    """A request about users or tokens that cannot be done; the message says what to fix."""


class AccountNotFoundError(AccountError, LookupError):
    """No such user or token (or not yours)."""


@dataclass(frozen=True)
class Login:
    """A new console session: the cookie value and the CSRF token to echo."""

    session_id: str
    csrf_token: str
    principal: Principal
    expires_at: datetime


def _key() -> str:
    from autolearn.settings import get_settings

    return get_settings().secret_key.get_secret_value()


def _principal(user: User) -> Principal:
    return Principal(user_id=user.id, username=user.username, role=user.role)  # type: ignore[arg-type]


def user_view(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "role": user.role,
        "active": user.active,
        "has_password": bool(user.password_hash),
        "created_at": iso(user.created_at),
    }


def create_user(
    username: str,
    role: str = "member",
    password: str | None = None,
    engine: Engine | None = None,
) -> dict[str, Any]:
    """A new user; the password is optional (token-only service accounts)."""
    if not USERNAME.match(username):
        raise AccountError(
            f"username {username!r} must be 1-64 letters, digits or _ . - @, "
            "starting with a letter or digit"
        )
    if role not in ROLES:
        raise AccountError(f"role {role!r} is not a role; use one of {', '.join(ROLES)}")
    if password is not None and len(password) < MIN_PASSWORD:
        raise AccountError(f"password must have at least {MIN_PASSWORD} characters")
    with session_scope(engine) as s:
        taken = s.scalar(select(User.id).where(func.lower(User.username) == username.lower()))
        if taken is not None:
            raise AccountError(f"username {username!r} is taken; pick another")
        user = User(
            username=username,
            role=role,
            password_hash=hashing.hash_password(password) if password else None,
        )
        s.add(user)
        s.flush()
        return user_view(user)


def _user(s: Session, user_id: int) -> User:
    user = s.get(User, user_id)
    if user is None:
        raise AccountNotFoundError(f"user {user_id} does not exist")
    return user


def get_user(user_id: int, engine: Engine | None = None) -> dict[str, Any]:
    with session_scope(engine) as s:
        return user_view(_user(s, user_id))


def find_user(username: str, engine: Engine | None = None) -> dict[str, Any]:
    with session_scope(engine) as s:
        user = s.scalar(select(User).where(func.lower(User.username) == username.lower()))
        if user is None:
            raise AccountNotFoundError(f"user {username!r} does not exist")
        return user_view(user)


def list_users(engine: Engine | None = None) -> list[dict[str, Any]]:
    with session_scope(engine) as s:
        return [user_view(u) for u in s.scalars(select(User).order_by(User.id))]


def update_user(
    user_id: int,
    role: str | None = None,
    active: bool | None = None,
    password: str | None = None,
    engine: Engine | None = None,
) -> dict[str, Any]:
    """Change a role, (de)activate, or set a password. Deactivating ends every session
    and makes every token of the user stop working at once."""
    if role is not None and role not in ROLES:
        raise AccountError(f"role {role!r} is not a role; use one of {', '.join(ROLES)}")
    if password is not None and len(password) < MIN_PASSWORD:
        raise AccountError(f"password must have at least {MIN_PASSWORD} characters")
    with session_scope(engine) as s:
        user = _user(s, user_id)
        if role is not None:
            user.role = role
        if active is not None:
            user.active = active
        if password is not None:
            user.password_hash = hashing.hash_password(password)
        if active is False or password is not None:
            for row in s.scalars(select(WebSession).where(WebSession.user_id == user_id)):
                s.delete(row)
        return user_view(user)


def count_admins(engine: Engine | None = None) -> int:
    with session_scope(engine) as s:
        return int(
            s.scalar(select(func.count(User.id)).where(User.role == "admin", User.active)) or 0
        )


# -- API tokens ------------------------------------------------------------------------
def token_view(row: ApiToken) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "prefix": row.prefix,
        "created_at": iso(row.created_at),
        "last_used_at": iso(row.last_used_at),
        "expires_at": iso(row.expires_at),
        "revoked": row.revoked,
    }


def create_token(
    user_id: int, name: str = "", ttl_days: int | None = None, engine: Engine | None = None
) -> dict[str, Any]:
    """A new bearer token for ``user_id``; the clear ``token`` is in this answer only."""
    if len(name) > 64:
        raise AccountError("token name must have at most 64 characters")
    if ttl_days is not None and not 1 <= ttl_days <= 3650:
        raise AccountError("ttl_days must be between 1 and 3650")
    token = hashing.new_token()
    with session_scope(engine) as s:
        _user(s, user_id)
        row = ApiToken(
            user_id=user_id,
            name=name,
            token_hash=hashing.keyed_hash(token, _key()),
            prefix=token[:10],
            expires_at=utcnow() + timedelta(days=ttl_days) if ttl_days else None,
        )
        s.add(row)
        s.flush()
        return {**token_view(row), "token": token}


def list_tokens(user_id: int, engine: Engine | None = None) -> list[dict[str, Any]]:
    with session_scope(engine) as s:
        rows = s.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id))
        return [token_view(r) for r in rows]


def revoke_token(user_id: int, token_id: int, engine: Engine | None = None) -> dict[str, Any]:
    with session_scope(engine) as s:
        row = s.get(ApiToken, token_id)
        if row is None or row.user_id != user_id:
            raise AccountNotFoundError(f"token {token_id} does not exist")
        row.revoked = True
        return token_view(row)


def authenticate_token(token: str, engine: Engine | None = None) -> Principal | None:
    """The principal a bearer token stands for, or None."""
    if not token.startswith(hashing.TOKEN_PREFIX) or len(token) > 200:
        return None
    digest = hashing.keyed_hash(token, _key())
    with session_scope(engine) as s:
        row = s.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
        if row is None or row.revoked:
            return None
        now = utcnow()
        if row.expires_at is not None and as_utc(row.expires_at) <= now:
            return None
        user = s.get(User, row.user_id)
        if user is None or not user.active:
            return None
        if row.last_used_at is None or now - as_utc(row.last_used_at) > timedelta(minutes=1):
            row.last_used_at = now  # at most one write a minute per token, not one per call
        return _principal(user)


# -- console sessions ------------------------------------------------------------------
def login(username: str, password: str, engine: Engine | None = None) -> Login:
    """Check a password and open a console session; one error for any mismatch."""
    from autolearn.settings import get_settings

    ttl = get_settings().session_ttl_s
    with session_scope(engine) as s:
        user = s.scalar(select(User).where(func.lower(User.username) == username.lower()))
        stored = user.password_hash if user is not None else None
        if not hashing.verify_password(password, stored) or user is None or not user.active:
            raise AccountError("wrong username or password")
        session_id, csrf = hashing.new_opaque(), hashing.new_opaque()
        expires = utcnow() + timedelta(seconds=ttl)
        s.add(
            WebSession(
                user_id=user.id,
                session_hash=hashing.keyed_hash(session_id, _key()),
                csrf_token=csrf,
                expires_at=expires,
            )
        )
        return Login(session_id, csrf, _principal(user), expires)


def authenticate_session(
    session_id: str, engine: Engine | None = None
) -> tuple[Principal, str] | None:
    """The principal and CSRF token of a live session cookie, or None."""
    if not session_id or len(session_id) > 200:
        return None
    digest = hashing.keyed_hash(session_id, _key())
    with session_scope(engine) as s:
        row = s.scalar(select(WebSession).where(WebSession.session_hash == digest))
        if row is None:
            return None
        if as_utc(row.expires_at) <= utcnow():
            s.delete(row)
            return None
        user = s.get(User, row.user_id)
        if user is None or not user.active:
            return None
        return _principal(user), row.csrf_token


def logout(session_id: str, engine: Engine | None = None) -> None:
    digest = hashing.keyed_hash(session_id, _key())
    with session_scope(engine) as s:
        row = s.scalar(select(WebSession).where(WebSession.session_hash == digest))
        if row is not None:
            s.delete(row)
