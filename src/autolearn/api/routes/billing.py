"""``/api/v1/billing``: my account and ledger, recharges (admins), prepaid resource
groups, the spec catalogue with regions, and a task's cost and ETA before launch.

A member sees their own account only: naming another user answers 404 (as if it did not
exist); admins name anyone with ``?user=``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel, Field

from autolearn.api.deps import Actor, Admin
from autolearn.tasks.spec import TaskSpec

router = APIRouter(prefix="/api/v1/billing", tags=["billing"])
UserQuery = Query(
    None, max_length=64, description="Whose account (admins; '@local' is the operator's)."
)
GroupName = Path(max_length=64, description="Resource group name.")


class RechargeBody(BaseModel):
    user: str = Field(min_length=1, max_length=64, description="Username, or '@local'.")
    amount: str = Field(
        min_length=1, max_length=20, pattern=r"^\d+(\.\d{1,2})?$", description='e.g. "100.00"'
    )
    note: str = Field(default="", max_length=200)


class RefundBody(BaseModel):
    task_id: int = Field(ge=1, le=2**31 - 1, description="The charged task.")
    amount: str | None = Field(
        default=None,
        max_length=20,
        pattern=r"^\d+(\.\d{1,2})?$",
        description='e.g. "12.50"; default: all that is not refunded yet.',
    )
    note: str = Field(default="", max_length=200)


class GroupBody(BaseModel):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    spec: str = Field(min_length=1, max_length=64, description="Resource spec of every node.")
    nodes: int = Field(ge=1, le=1024)
    hours: int = Field(ge=1, le=5 * 366 * 24, description="Period bought, from now.")
    owner: str | None = Field(
        default=None, max_length=64, description="Username; none: shared by all."
    )
    region: str = Field(default="local", max_length=64)
    charge: bool = Field(default=True, description="Charge the owner's account the period's price.")


@router.get("/account", summary="My account: balance, frozen, available")
def account(actor: Actor, user: str | None = UserQuery) -> dict[str, Any]:
    from autolearn.billing.service import get_account

    return get_account(actor, user)


@router.get("/ledger", summary="My ledger, newest first, paged")
def ledger(
    actor: Actor,
    user: str | None = UserQuery,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=2**31 - 1),
) -> dict[str, Any]:
    from autolearn.billing.service import ledger_page

    return ledger_page(actor, user, limit, offset)


@router.post("/recharge", summary="Add money to an account (admins)")
def recharge(body: RechargeBody, actor: Admin) -> dict[str, Any]:
    from autolearn.billing.service import recharge as do

    return do(actor, body.user, body.amount, body.note)


@router.post("/refunds", summary="Give back part or all of a task's charge (admins)")
def refund(body: RefundBody, actor: Admin) -> dict[str, Any]:
    """A ``refund`` ledger entry on the task's account; never more than the task was
    charged, over all its refunds (422 ``invalid_billing_request`` says how much is left)."""
    from autolearn.billing.service import refund as do

    return do(actor, body.task_id, body.amount, body.note)


@router.get("/resource-groups", summary="Prepaid resource groups I may use")
def groups(actor: Actor) -> list[dict[str, Any]]:
    from autolearn.billing.service import list_groups

    return list_groups(actor)


@router.post(
    "/resource-groups", status_code=status.HTTP_201_CREATED, summary="Buy a group (admins)"
)
def create_group(body: GroupBody, actor: Admin) -> dict[str, Any]:
    from autolearn.billing.service import create_group as make

    return make(
        actor, body.name, body.spec, body.nodes, body.hours, body.owner, body.region, body.charge
    )


@router.post("/resource-groups/{name}/expire", summary="End a group now (admins)")
def expire_group(actor: Admin, name: str = GroupName) -> dict[str, Any]:
    from autolearn.billing.service import expire_group as end

    return end(actor, name)


@router.get("/specs", summary="The resource spec catalogue (prices) and regions")
def specs(actor: Actor) -> dict[str, Any]:
    from autolearn.billing.service import specs as catalogue

    return catalogue()


@router.post("/estimate", summary="Cost and ETA of a task before launch")
def estimate(spec: TaskSpec, actor: Actor) -> dict[str, Any]:
    """Plans the task as create does (the same 422s), then prices its expected run."""
    from autolearn.billing.service import estimate_task

    return estimate_task(spec, actor)
