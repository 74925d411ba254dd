"""``/api/v1/account``: who am I, console login/logout (session cookie + CSRF token),
and my API tokens."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response, status
from pydantic import BaseModel, Field

from autolearn.api.deps import CSRF_HEADER, SESSION_COOKIE, Actor, AuthError

router = APIRouter(prefix="/api/v1/account", tags=["account"])
TokenId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Token ID.")]


class LoginBody(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class TokenCreate(BaseModel):
    name: str = Field(default="", max_length=64, description="What the token is for.")
    ttl_days: int | None = Field(
        default=None, ge=1, le=3650, description="Days until it expires; none: never."
    )


@router.get("", summary="The calling user")
def me(actor: Actor) -> dict[str, Any]:
    from autolearn.accounts.service import get_user

    return get_user(actor.user_id)


@router.post("/login", summary="Open a console session (sets an HttpOnly cookie)")
def login(body: LoginBody, response: Response) -> dict[str, Any]:
    """The answer carries ``csrf_token``: send it as the ``X-CSRF-Token`` header with every
    request that changes something."""
    from autolearn.accounts.service import AccountError
    from autolearn.accounts.service import login as open_session
    from autolearn.settings import get_settings

    try:
        session = open_session(body.username, body.password)
    except AccountError as exc:
        raise AuthError(401, "login_failed", str(exc)) from None
    settings = get_settings()
    response.set_cookie(
        SESSION_COOKIE,
        session.session_id,
        max_age=settings.session_ttl_s,
        httponly=True,
        secure=settings.environment == "production",
        samesite="strict",
        path="/",
    )
    return {
        "user": {
            "id": session.principal.user_id,
            "username": session.principal.username,
            "role": session.principal.role,
        },
        "csrf_token": session.csrf_token,
        "csrf_header": CSRF_HEADER,
        "expires_at": session.expires_at.isoformat(),
    }


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, summary="End the session")
def logout(request: Request, response: Response, actor: Actor) -> None:
    from autolearn.accounts.service import logout as close_session

    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        close_session(cookie)
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.get("/tokens", summary="My API tokens (never the tokens themselves)")
def tokens(actor: Actor) -> list[dict[str, Any]]:
    from autolearn.accounts.service import list_tokens

    return list_tokens(actor.user_id)


@router.post("/tokens", status_code=status.HTTP_201_CREATED, summary="Make an API token")
def create_token(body: TokenCreate, actor: Actor) -> dict[str, Any]:
    """``token`` is in this answer only; store it now."""
    from autolearn.accounts.service import create_token as make

    return make(actor.user_id, body.name, body.ttl_days)


@router.delete("/tokens/{token_id}", summary="Revoke one of my tokens")
def revoke_token(token_id: TokenId, actor: Actor) -> dict[str, Any]:
    from autolearn.accounts.service import revoke_token as revoke

    return revoke(actor.user_id, token_id)
