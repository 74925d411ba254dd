"""The billing facade the faces (API, CLI, console) call, scoped by ``actor`` as every
service is: a member sees their own account and ledger only (another's answers as if it
did not exist); admins see and recharge any; ``None`` is the embedded operator, whose own
account is ``@local``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from autolearn.accounts.principal import Principal
from autolearn.billing import groups, ledger
from autolearn.billing.catalog import get_catalog
from autolearn.billing.errors import BillingError, BillingNotFoundError
from autolearn.billing.money import MoneyError, to_cents
from autolearn.db import User, session_scope

__all__ = [
    "BillingError",
    "BillingNotFoundError",
    "create_group",
    "estimate_task",
    "expire_group",
    "get_account",
    "ledger_page",
    "list_groups",
    "recharge",
    "specs",
]


def _user_id(username: str | None, actor: Principal | None) -> int | None:
    """Whose account: ``username`` (admins and the operator only; ``@local`` is the
    operator's), else the caller's own."""
    if username is None or (actor is not None and username == actor.username):
        return actor.user_id if actor is not None else None
    if actor is not None and not actor.is_admin:
        raise BillingNotFoundError(f"no account of {username!r} that you may see")
    if username == ledger.LOCAL_NAME:
        return None
    with session_scope() as s:
        found = s.scalar(select(User.id).where(User.username == username))
    if found is None:
        raise BillingNotFoundError(f"user {username!r} does not exist")
    return int(found)


def get_account(actor: Principal | None, username: str | None = None) -> dict[str, Any]:
    view = ledger.get_account(_user_id(username, actor))
    view["billing"] = _billing_on()
    view["currency"] = get_catalog().currency
    return view


def ledger_page(
    actor: Principal | None, username: str | None = None, limit: int = 50, offset: int = 0
) -> dict[str, Any]:
    return ledger.ledger_page(_user_id(username, actor), limit, offset)


def recharge(actor: Principal | None, username: str, amount: str, note: str = "") -> dict[str, Any]:
    """Add ``amount`` (a decimal string, e.g. "100.00") to ``username``'s account."""
    if actor is not None and not actor.is_admin:
        raise BillingNotFoundError("only an admin recharges accounts")
    try:
        cents = to_cents(amount)
    except MoneyError as exc:
        raise BillingError(f"amount: {exc}") from None
    user_id = _user_id(username, actor)
    account_id = ledger.ensure_account(user_id)
    entry = ledger.recharge(account_id, cents, actor.user_id if actor else None, note or "recharge")
    return {"entry": entry, "account": get_account(actor, username)}


def refund(
    actor: Principal | None, task_id: int, amount: str | None = None, note: str = ""
) -> dict[str, Any]:
    """(Admins) give back ``amount`` (default: all that is left) of what task ``task_id``
    was charged, as a ``refund`` ledger entry. Never more than the task was charged, over
    all its refunds: the charge row is written first, so a concurrent refund waits for
    this one's commit (a row lock on PostgreSQL, the write lock on SQLite) and then sees
    it in the sum."""
    from sqlalchemy import func, update

    from autolearn.billing.money import fmt
    from autolearn.db.models import LedgerEntry, TaskCharge, utcnow

    if actor is not None and not actor.is_admin:
        raise BillingNotFoundError("only an admin refunds charges")
    with session_scope() as s:
        s.execute(
            update(TaskCharge).where(TaskCharge.task_id == task_id).values(updated_at=utcnow())
        )
        charge = s.get(TaskCharge, task_id)
        if charge is None or charge.account_id is None or charge.charged_cents <= 0:
            raise BillingError(f"task {task_id} was not charged: there is nothing to refund")
        done = s.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0)).where(
                LedgerEntry.task_id == task_id, LedgerEntry.kind == "refund"
            )
        )
        left = charge.charged_cents - int(done or 0)
        cents = left if amount is None else _cents(amount)
        if cents <= 0 or cents > left:
            raise BillingError(
                f"amount: task {task_id} was charged {fmt(charge.charged_cents)} and "
                f"{fmt(int(done or 0))} of it is refunded; at most {fmt(left)} can be refunded"
            )
        entry = ledger.move(
            s,
            charge.account_id,
            "refund",
            amount=cents,
            task_id=task_id,
            actor_id=actor.user_id if actor else None,
            note=note or f"refund of task {task_id}",
        )
        assert entry is not None  # adding money cannot make anything negative
        return {
            "entry": ledger.entry_view(entry),
            "task_id": task_id,
            "charged": fmt(charge.charged_cents),
            "refunded": fmt(int(done or 0) + cents),
        }


def _cents(amount: str) -> int:
    try:
        return to_cents(amount)
    except MoneyError as exc:
        raise BillingError(f"amount: {exc}") from None


def list_groups(actor: Principal | None) -> list[dict[str, Any]]:
    return groups.list_groups(actor)


def create_group(
    actor: Principal | None,
    name: str,
    spec: str,
    nodes: int,
    hours: int,
    owner: str | None = None,
    region: str = "local",
    charge: bool = True,
) -> dict[str, Any]:
    """Buy a group for ``owner`` (a username; None: shared by everyone)."""
    owner_id = _user_id(owner, None) if owner else None
    return groups.create_group(
        name,
        spec,
        nodes,
        hours,
        owner_id=owner_id,
        region=region,
        charge=charge,
        actor_id=actor.user_id if actor else None,
    )


def expire_group(actor: Principal | None, name: str) -> dict[str, Any]:
    return groups.expire_group(name)


def specs() -> dict[str, Any]:
    """The spec catalogue and regions, with whether billing is on."""
    return {**get_catalog().to_dict(), "billing": _billing_on()}


def estimate_task(spec: Any, actor: Principal | None) -> dict[str, Any]:
    """Plan the task as create would (same checks), then its cost and ETA."""
    from autolearn.billing.estimate import estimate
    from autolearn.tasks.service import preview_task

    preview = preview_task(spec, actor=actor)
    return estimate(spec, preview["plan"])


def _billing_on() -> bool:
    from autolearn.settings import get_settings

    return get_settings().billing
