"""Accounts and their append-only ledger.

Every movement is one conditional UPDATE of the account row plus one INSERT of a ledger
row, in the caller's transaction, e.g. a freeze::

    UPDATE billing_accounts SET frozen_cents = frozen_cents + :x
     WHERE id = :id AND balance_cents - frozen_cents >= :x

The condition is checked by the database on the row as it is when the UPDATE runs, so
concurrent freezes can never take the available balance below zero: on PostgreSQL the
second UPDATE waits for the first one's row lock and re-checks the condition on the new
row; on SQLite (WAL) writers take the database's write lock one at a time. The row
count says whether it happened; the ledger row is written only when it did. Hence:
sum(amount_cents) = balance and sum(frozen_cents) = frozen, always.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from autolearn.billing.errors import BillingError, InsufficientBalanceError
from autolearn.billing.money import fmt
from autolearn.db import session_scope
from autolearn.db.models import Account, LedgerEntry, User, iso

LOCAL_HOLDER = "local"  # the embedded operator (actor None), and tasks without an owner
LOCAL_NAME = "@local"  # how people name it (no username starts with '@')
KINDS = ("recharge", "freeze", "unfreeze", "charge", "refund")


def holder_for(user_id: int | None) -> str:
    return LOCAL_HOLDER if user_id is None else f"user:{user_id}"


def find_account(s: Session, user_id: int | None) -> Account | None:
    return s.scalar(select(Account).where(Account.holder == holder_for(user_id)))


def ensure_account(user_id: int | None, engine: Any = None) -> int:
    """The account id of ``user_id`` (None: the local operator), made on first use in its
    own transaction; of two processes making it at once, one insert wins and both read it."""
    holder = holder_for(user_id)
    with session_scope(engine) as s:
        found = s.scalar(select(Account.id).where(Account.holder == holder))
        if found is not None:
            return int(found)
    try:
        with session_scope(engine) as s:
            row = Account(holder=holder, user_id=user_id, balance_cents=0, frozen_cents=0)
            s.add(row)
            s.flush()
            return int(row.id)
    except IntegrityError:
        with session_scope(engine) as s:
            return int(s.scalar(select(Account.id).where(Account.holder == holder)) or 0)


def move(
    s: Session,
    account_id: int,
    kind: str,
    *,
    amount: int = 0,
    frozen: int = 0,
    task_id: int | None = None,
    actor_id: int | None = None,
    note: str = "",
) -> LedgerEntry | None:
    """Apply one movement if the account stays sound: available ≥ 0 after it and the
    frozen part ≥ 0. Returns the ledger row, or None when refused (nothing changed)."""
    if kind not in KINDS:
        raise BillingError(f"unknown ledger entry kind {kind!r}")
    a = Account.__table__.c
    result = s.execute(
        update(Account)
        .where(
            a.id == account_id,
            a.balance_cents + amount - (a.frozen_cents + frozen) >= 0,
            a.frozen_cents + frozen >= 0,
        )
        .values(balance_cents=a.balance_cents + amount, frozen_cents=a.frozen_cents + frozen)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    # The row is ours until commit (row lock / SQLite's write lock): these are its values.
    balance, held = s.execute(
        select(a.balance_cents, a.frozen_cents).where(a.id == account_id)
    ).one()
    entry = LedgerEntry(
        account_id=account_id,
        kind=kind,
        amount_cents=amount,
        frozen_cents=frozen,
        balance_after=int(balance),
        frozen_after=int(held),
        task_id=task_id,
        actor_id=actor_id,
        note=note,
    )
    s.add(entry)
    s.flush()
    return entry


def available(s: Session, account_id: int) -> int:
    a = Account.__table__.c
    row = s.execute(select(a.balance_cents - a.frozen_cents).where(a.id == account_id)).one()
    return int(row[0])


def freeze(s: Session, account_id: int, cents: int, task_id: int | None, note: str) -> None:
    """Hold ``cents`` of the available balance, or raise with the amount missing."""
    if cents <= 0:
        return
    if move(s, account_id, "freeze", frozen=cents, task_id=task_id, note=note) is None:
        raise InsufficientBalanceError(cents, available(s, account_id), note)


def recharge(
    account_id: int, cents: int, actor_id: int | None, note: str = "", engine: Any = None
) -> dict[str, Any]:
    """Add money (an admin's act; the ledger records who)."""
    if cents <= 0:
        raise BillingError(f"a recharge must be positive, got {fmt(cents)}")
    with session_scope(engine) as s:
        entry = move(
            s, account_id, "recharge", amount=cents, actor_id=actor_id, note=note or "recharge"
        )
        assert entry is not None  # adding money cannot make anything negative
        return entry_view(entry)


def account_view(account: Account, username: str | None = None) -> dict[str, Any]:
    return {
        "id": account.id,
        "holder": account.holder,
        "user_id": account.user_id,
        "username": username or (LOCAL_NAME if account.user_id is None else None),
        "balance": fmt(account.balance_cents),
        "frozen": fmt(account.frozen_cents),
        "available": fmt(account.balance_cents - account.frozen_cents),
        "balance_cents": account.balance_cents,
        "frozen_cents": account.frozen_cents,
        "available_cents": account.balance_cents - account.frozen_cents,
    }


def entry_view(e: LedgerEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "ts": iso(e.created_at),
        "kind": e.kind,
        "amount": fmt(e.amount_cents),
        "frozen": fmt(e.frozen_cents),
        "balance_after": fmt(e.balance_after),
        "frozen_after": fmt(e.frozen_after),
        "amount_cents": e.amount_cents,
        "frozen_cents": e.frozen_cents,
        "task_id": e.task_id,
        "actor_id": e.actor_id,
        "note": e.note,
    }


def get_account(user_id: int | None, engine: Any = None) -> dict[str, Any]:
    """The account of ``user_id`` (made empty on first look)."""
    account_id = ensure_account(user_id, engine)
    with session_scope(engine) as s:
        account = s.get(Account, account_id)
        assert account is not None
        name = s.scalar(select(User.username).where(User.id == user_id)) if user_id else None
        return account_view(account, name)


def ledger_page(
    user_id: int | None, limit: int = 50, offset: int = 0, engine: Any = None
) -> dict[str, Any]:
    """The account's ledger, newest first, a page at a time, with the total count."""
    account_id = ensure_account(user_id, engine)
    with session_scope(engine) as s:
        where = LedgerEntry.account_id == account_id
        rows = s.scalars(
            select(LedgerEntry)
            .where(where)
            .order_by(LedgerEntry.id.desc())
            .limit(limit)
            .offset(offset)
        )
        items = [entry_view(e) for e in rows]
        total = s.scalar(select(func.count(LedgerEntry.id)).where(where)) or 0
    return {"items": items, "total": int(total), "limit": limit, "offset": offset}


def audit(account_id: int, engine: Any = None) -> dict[str, int]:
    """The account's columns next to its ledger's sums (they must be equal)."""
    with session_scope(engine) as s:
        account = s.get(Account, account_id)
        assert account is not None
        sums = s.execute(
            select(
                func.coalesce(func.sum(LedgerEntry.amount_cents), 0),
                func.coalesce(func.sum(LedgerEntry.frozen_cents), 0),
            ).where(LedgerEntry.account_id == account_id)
        ).one()
        return {
            "balance_cents": account.balance_cents,
            "frozen_cents": account.frozen_cents,
            "ledger_balance_cents": int(sums[0]),
            "ledger_frozen_cents": int(sums[1]),
        }
