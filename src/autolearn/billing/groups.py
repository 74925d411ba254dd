"""Prepaid resource groups: ``nodes`` nodes of one spec in one region, bought for a
period. Tasks that name a group run inside its capacity and are not charged per task;
a full group keeps its tasks QUEUED; an expired group takes no new tasks.

Capacity is the tasks table itself (the nodes of the group's STARTING / RUNNING /
STOPPING tasks), not a counter that every ending would have to decrement. The queue
admits a task under a lock on the group's row (a no-op UPDATE: a row lock on
PostgreSQL, the write lock on SQLite), so two supervisors cannot both take its last node.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from autolearn.accounts.principal import Principal, may_access
from autolearn.billing import ledger
from autolearn.billing.catalog import CatalogError, get_catalog
from autolearn.billing.errors import BillingError, BillingNotFoundError
from autolearn.billing.money import cost_cents, fmt
from autolearn.db import Task, session_scope
from autolearn.db.models import ResourceGroup, TaskCharge, User, as_utc, iso, utcnow
from autolearn.tasks.states import ACTIVE, Status

ACTIVE_VALUES = [s.value for s in ACTIVE]
MAX_HOURS = 5 * 366 * 24


def _in_use(group_id: Any) -> Select[Any]:
    """Nodes held by the group's active tasks (STARTING, RUNNING, STOPPING)."""
    t = aliased(Task)
    return (
        select(func.coalesce(func.sum(TaskCharge.nodes), 0))
        .join(t, t.id == TaskCharge.task_id)
        .where(TaskCharge.resource_group_id == group_id, t.status.in_(ACTIVE_VALUES))
    )


def blocked_tasks(now: datetime) -> ColumnElement[bool]:
    """``Task.id`` is not a task whose group is expired or has no room for it now: the
    queue's candidate filter (the locked check in :func:`admit` decides)."""
    outer = aliased(TaskCharge)
    blocked = (
        select(outer.task_id)
        .join(ResourceGroup, ResourceGroup.id == outer.resource_group_id)
        .where(
            or_(
                ResourceGroup.expires_at <= now,
                _in_use(ResourceGroup.id).scalar_subquery() + outer.nodes > ResourceGroup.nodes,
            )
        )
    )
    return Task.id.not_in(blocked)


def expired_queued(s: Session, region: str, now: datetime) -> list[tuple[int, str]]:
    """(task id, group name) of QUEUED tasks of ``region`` whose group has expired."""
    rows = s.execute(
        select(Task.id, ResourceGroup.name)
        .join(TaskCharge, TaskCharge.task_id == Task.id)
        .join(ResourceGroup, ResourceGroup.id == TaskCharge.resource_group_id)
        .where(
            Task.status == Status.QUEUED.value,
            Task.region == region,
            ResourceGroup.expires_at <= now,
        )
    ).all()
    return [(int(task_id), str(name)) for task_id, name in rows]


def admit(s: Session, task_id: int, now: datetime) -> bool:
    """Whether the task may start now: no group, or a live group with room. Locks the
    group's row first, so the count that follows is the one that stays true."""
    row = s.execute(
        select(TaskCharge.resource_group_id, TaskCharge.nodes).where(TaskCharge.task_id == task_id)
    ).first()
    if row is None or row[0] is None:
        return True
    group_id, nodes = row
    s.execute(
        update(ResourceGroup)
        .where(ResourceGroup.id == group_id)
        .values(nodes=ResourceGroup.nodes)
        .execution_options(synchronize_session=False)
    )
    size, expires = s.execute(
        select(ResourceGroup.nodes, ResourceGroup.expires_at).where(ResourceGroup.id == group_id)
    ).one()
    if as_utc(expires) <= now:
        return False
    used = s.scalar(_in_use(group_id)) or 0
    return int(used) + int(nodes) <= int(size)


def find_group(s: Session, name: str, actor: Principal | None) -> ResourceGroup:
    """The group, if ``actor`` may use it (theirs, or shared: no owner)."""
    group = s.scalar(select(ResourceGroup).where(ResourceGroup.name == name))
    if group is None or (group.owner_id is not None and not may_access(actor, group.owner_id)):
        raise BillingNotFoundError(
            f"resource group {name!r} does not exist; `autolearn resource-group list` shows them"
        )
    return group


def check_task(s: Session, name: str, spec: str, count: int, region: str, actor: Any) -> int:
    """The group a PREPAID task may run in (its id), or why not."""
    group = find_group(s, name, actor)
    if as_utc(group.expires_at) <= utcnow():
        raise BillingError(f"resource group {name!r} expired on {iso(group.expires_at)}")
    if group.spec != spec:
        raise BillingError(f"resource group {name!r} has {group.spec} nodes, not {spec}")
    if group.region != region:
        raise BillingError(f"resource group {name!r} is in region {group.region!r}, not {region!r}")
    if count > group.nodes:
        raise BillingError(
            f"resource group {name!r} has {group.nodes} nodes; the task asks {count}"
        )
    return int(group.id)


def group_view(s: Session, group: ResourceGroup, now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    used = s.scalar(_in_use(group.id)) or 0
    queued = s.scalar(
        select(func.count(TaskCharge.task_id))
        .join(Task, Task.id == TaskCharge.task_id)
        .where(TaskCharge.resource_group_id == group.id, Task.status == Status.QUEUED.value)
    )
    owner = (
        s.scalar(select(User.username).where(User.id == group.owner_id)) if group.owner_id else None
    )
    return {
        "id": group.id,
        "name": group.name,
        "owner_id": group.owner_id,
        "owner": owner,
        "spec": group.spec,
        "nodes": group.nodes,
        "region": group.region,
        "nodes_in_use": int(used),
        "queued": int(queued or 0),
        "price": fmt(group.price_cents),
        "starts_at": iso(group.starts_at),
        "expires_at": iso(group.expires_at),
        "status": "EXPIRED" if as_utc(group.expires_at) <= now else "ACTIVE",
    }


def list_groups(actor: Principal | None, engine: Any = None) -> list[dict[str, Any]]:
    """The groups ``actor`` may use (an admin: all)."""
    with session_scope(engine) as s:
        rows = s.scalars(select(ResourceGroup).order_by(ResourceGroup.name))
        return [
            group_view(s, g) for g in rows if g.owner_id is None or may_access(actor, g.owner_id)
        ]


def create_group(
    name: str,
    spec: str,
    nodes: int,
    hours: int,
    *,
    owner_id: int | None = None,
    region: str = "local",
    charge: bool = True,
    actor_id: int | None = None,
    engine: Any = None,
) -> dict[str, Any]:
    """Buy a group for ``hours``: with billing on and an owner, its price (spec price ×
    nodes × hours) is charged to the owner's account at once, or refused."""
    from autolearn.settings import get_settings

    if not 1 <= nodes <= 1024 or not 1 <= hours <= MAX_HOURS:
        raise BillingError(f"nodes must be 1-1024 and hours 1-{MAX_HOURS}")
    try:
        catalog = get_catalog()
        catalog.check_placement(region, spec)
    except CatalogError as exc:
        raise BillingError(str(exc)) from None
    price = cost_cents(catalog.spec(spec).price_cents, nodes, hours * 3600)
    paid = charge and get_settings().billing and owner_id is not None
    account_id = ledger.ensure_account(owner_id, engine) if paid else None
    now = utcnow()
    try:
        with session_scope(engine) as s:
            group = ResourceGroup(
                name=name,
                owner_id=owner_id,
                spec=spec,
                nodes=nodes,
                region=region,
                price_cents=price if paid else 0,
                starts_at=now,
                expires_at=now + timedelta(hours=hours),
            )
            s.add(group)
            s.flush()
            if account_id is not None and price:
                _pay(s, account_id, price, name, actor_id)
            return group_view(s, group)
    except IntegrityError:
        raise BillingError(f"a resource group named {name!r} exists already") from None


def _pay(s: Session, account_id: int, price: int, name: str, actor_id: int | None) -> None:
    from autolearn.billing.errors import InsufficientBalanceError

    note = f"resource group {name}"
    if ledger.move(s, account_id, "charge", amount=-price, actor_id=actor_id, note=note) is None:
        raise InsufficientBalanceError(price, ledger.available(s, account_id), note)


def expire_group(name: str, engine: Any = None) -> dict[str, Any]:
    """End a group now: it takes no new tasks; its queued ones are refused by the queue
    (running ones finish). Nothing is refunded: the period was bought."""
    with session_scope(engine) as s:
        group = find_group(s, name, None)
        now = utcnow()
        if as_utc(group.expires_at) > now:
            group.expires_at = now
        s.flush()
        return group_view(s, group, now)
