"""Who is calling: a bearer token (scripts, the SDK, the CLI) or a console session
cookie (the browser). Every route but ``/healthz`` and ``/metrics`` depends on one.

Cookies are sent by browsers automatically, so a cookie alone never authorises a
change: unsafe methods must echo the session's CSRF token in ``X-CSRF-Token`` (a page
of another site can neither read that token nor set the header cross-origin). Bearer
tokens are never sent automatically and need no such check.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from autolearn.accounts import Principal

SESSION_COOKIE = "autolearn_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

bearer = HTTPBearer(
    auto_error=False,
    description="An API token (`autolearn admin create` prints the first; "
    "POST /api/v1/account/tokens makes more).",
)


class AuthError(Exception):
    """401 (who are you?) or 403 (not allowed); turned into the JSON error body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    from autolearn.accounts import service
    from autolearn.accounts.hashing import same

    if credentials is not None:
        principal = service.authenticate_token(credentials.credentials)
        if principal is None:
            raise AuthError(401, "invalid_token", "the API token is unknown, revoked or expired")
        return principal
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        found = service.authenticate_session(cookie)
        if found is None:
            raise AuthError(401, "session_expired", "the console session ended; log in again")
        principal, csrf = found
        if request.method not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER, "")
            if not sent or not same(sent, csrf):
                raise AuthError(
                    403,
                    "csrf_failed",
                    f"a session-cookie request that changes something must send the "
                    f"{CSRF_HEADER} header given at login",
                )
        return principal
    raise AuthError(
        401,
        "not_authenticated",
        "send 'Authorization: Bearer <API token>' or log in at POST /api/v1/account/login",
    )


def admin_principal(actor: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if not actor.is_admin:
        raise AuthError(403, "admin_only", "only an admin may do this")
    return actor


Actor = Annotated[Principal, Depends(current_principal)]
Admin = Annotated[Principal, Depends(admin_principal)]
