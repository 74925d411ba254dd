"""``/api/v1/users`` (admins only): people and service accounts, their roles and tokens."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, status
from pydantic import BaseModel, Field

from autolearn.api.deps import Admin

router = APIRouter(prefix="/api/v1/users", tags=["users"])
UserId = Annotated[int, Path(ge=1, le=2**31 - 1, description="User ID.")]


class UserCreate(BaseModel):
    username: str = Field(min_length=1, max_length=64, description="Letters, digits, _ . - @.")
    role: Literal["admin", "member"] = "member"
    password: str | None = Field(
        default=None, min_length=10, max_length=1024, description="None: token-only account."
    )


class UserUpdate(BaseModel):
    role: Literal["admin", "member"] | None = None
    active: bool | None = Field(default=None, description="false ends sessions and tokens.")
    password: str | None = Field(default=None, min_length=10, max_length=1024)


@router.get("", summary="Every user")
def list_(actor: Admin) -> list[dict[str, Any]]:
    from autolearn.accounts.service import list_users

    return list_users()


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create a user")
def create(body: UserCreate, actor: Admin) -> dict[str, Any]:
    from autolearn.accounts.service import create_user

    return create_user(body.username, body.role, body.password)


@router.patch("/{user_id}", summary="Change a role, (de)activate, set a password")
def update(user_id: UserId, body: UserUpdate, actor: Admin) -> dict[str, Any]:
    from autolearn.accounts.service import AccountError, update_user

    if user_id == actor.user_id and (body.active is False or body.role == "member"):
        raise AccountError("an admin cannot demote or deactivate themself; ask another admin")
    return update_user(user_id, body.role, body.active, body.password)


@router.post(
    "/{user_id}/tokens", status_code=status.HTTP_201_CREATED, summary="Make a token for a user"
)
def create_token(user_id: UserId, actor: Admin, name: str = "") -> dict[str, Any]:
    """For service accounts: the clear ``token`` is in this answer only."""
    from autolearn.accounts.service import create_token as make

    return make(user_id, name[:64])
