"""A task's charge from submission to settlement (pay-as-you-go), or its place in a
prepaid group.

- submit (``on_submit``, in the transaction that writes the task row): PREPAID tasks
  are tied to their group; POSTPAID_BY_HOUR tasks freeze price × nodes × 2 h of the
  owner's available balance, or the task is written SUBMIT_FAILED with the amount
  missing. The freeze is at submission, not at launch, so that what is QUEUED is paid
  for: a queue of a hundred tasks cannot promise more than the balance holds.
- run (``on_running``, when the worker marks the task RUNNING): the meter starts.
- end (``settle``, when the supervisor sees the worker gone, or a sweep finds a
  terminal task with a freeze still held): the run time is charged per second, rounded
  up to the cent, never more than what is frozen; the freeze is released.
- crash resumed by the platform (``credit_crash``): the segment counts only up to its
  last checkpoint (the last ``epoch`` event, written after ``last.pt``); the rest is
  redone after the resume and charged then, so it is not charged twice.
- arrears (``watch``): a running task whose cost reaches its freeze freezes more from
  the balance (an hour at a time, or what is left); when nothing is left it is stopped
  with billing status ARREARS_STOP and keeps its checkpoint.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from autolearn.billing import ledger
from autolearn.billing.errors import InsufficientBalanceError
from autolearn.billing.money import SECONDS_PER_HOUR, ceil_div, cost_cents, fmt
from autolearn.db import Task, TaskEvent, TaskLog
from autolearn.db.models import Account, TaskCharge, as_utc, utcnow
from autolearn.tasks.states import TERMINAL, BillingStatus, Status

POSTPAID, PREPAID = "POSTPAID_BY_HOUR", "PREPAID"
ARREARS = "arrears"  # stop_reason of a task stopped because its account ran dry
TOP_UP_S = SECONDS_PER_HOUR  # how much more a running task freezes at a time
LOW_WATER_S = 600  # a freeze with less than this much run time left is topped up


def now() -> datetime:
    """The billing clock (tests replace it)."""
    return utcnow()


def billing_on() -> bool:
    from autolearn.settings import get_settings

    return get_settings().billing


def freeze_cents(price_cents: int, nodes: int, hours: int) -> int:
    return price_cents * nodes * hours


def on_submit(s: Session, task: Task, actor: Any = None) -> InsufficientBalanceError | None:
    """Tie a new task (row flushed, QUEUED) to its group or freeze its deposit. Returns
    the refusal when the balance cannot cover the freeze (nothing is frozen then);
    raises BillingError for a group the task cannot use."""
    from autolearn.billing.catalog import get_catalog
    from autolearn.billing.groups import check_task

    resources = task.spec.get("resources") or {}
    spec, nodes = str(resources.get("spec", "cpu-2c8g")), int(resources.get("count", 1))
    charge = TaskCharge(task_id=task.id, charge_type=str(resources.get("charge_type", POSTPAID)))
    charge.spec, charge.nodes, charge.open, charge.price_cents = spec, nodes, False, 0
    charge.frozen_cents = charge.charged_cents = charge.billed_ms = charge.pending_ms = 0
    task.billing_status = BillingStatus.NOT_BILLING.value
    if charge.charge_type == PREPAID:
        group = str(resources.get("resource_group"))
        charge.resource_group_id = check_task(s, group, spec, nodes, task.region, actor)
        s.add(charge)
        return None
    if not billing_on():
        return None
    catalog = get_catalog()
    charge.price_cents = catalog.spec(spec).price_cents
    amount = freeze_cents(charge.price_cents, nodes, catalog.freeze_hours)
    what = f"task {task.id} ({catalog.freeze_hours} h of {spec} × {nodes})"
    account = ledger.find_account(s, task.owner_id)
    if account is not None and amount > 0:
        frozen = ledger.move(
            s, account.id, "freeze", frozen=amount, task_id=task.id, note=f"freeze: {what}"
        )
        if frozen is None:
            return InsufficientBalanceError(
                amount, ledger.available(s, account.id), f"the freeze of {what}"
            )
    elif amount > 0:
        return InsufficientBalanceError(amount, 0, f"the freeze of {what}")
    charge.account_id = account.id if account is not None else None
    charge.frozen_cents, charge.open = amount, True
    task.billing_status = BillingStatus.BILLING.value
    s.add(charge)
    return None


def on_resume(s: Session, task: Task) -> None:
    """A stopped or failed pay-as-you-go task queued again freezes anew (raises
    InsufficientBalanceError, and the caller leaves the task as it was)."""
    from autolearn.billing.catalog import get_catalog

    charge = s.get(TaskCharge, task.id)
    if charge is None or charge.charge_type != POSTPAID or not billing_on() or charge.open:
        return
    hours = get_catalog().freeze_hours
    amount = freeze_cents(charge.price_cents, charge.nodes, hours)
    what = f"task {task.id} resumed: {hours} h of {charge.spec} × {charge.nodes}"
    if charge.account_id is None:
        if amount > 0:
            raise InsufficientBalanceError(amount, 0, f"the freeze of {what}")
    else:
        ledger.freeze(s, charge.account_id, amount, task.id, f"freeze: {what}")
    charge.frozen_cents, charge.open, charge.pending_ms = amount, True, 0
    charge.run_started_at, charge.updated_at = None, utcnow()
    task.billing_status = BillingStatus.BILLING.value


def on_running(s: Session, task_id: int) -> None:
    """The worker runs: start the meter (once per segment)."""
    charge = s.get(TaskCharge, task_id)
    if charge is not None and charge.open and charge.run_started_at is None:
        charge.run_started_at = now()


def _elapsed_ms(start: datetime | None, end: datetime) -> int:
    if start is None:
        return 0
    return max(int((as_utc(end) - as_utc(start)).total_seconds() * 1000), 0)


def settle(s: Session, task: Task | None, task_id: int, ended_at: datetime | None = None) -> None:
    """Charge the run time of an ended task and release its freeze (idempotent)."""
    charge = s.get(TaskCharge, task_id, with_for_update=True)
    if charge is None or not charge.open:
        return
    end = ended_at or (task.finished_at if task is not None and task.finished_at else now())
    charge.pending_ms += _elapsed_ms(charge.run_started_at, end)
    seconds = ceil_div(charge.pending_ms, 1000)
    cost = min(cost_cents(charge.price_cents, charge.nodes, seconds), charge.frozen_cents)
    note = f"task {task_id}: {seconds} s of {charge.spec} × {charge.nodes}"
    if charge.account_id is not None:
        ledger.move(
            s,
            charge.account_id,
            "unfreeze",
            frozen=-charge.frozen_cents,
            task_id=task_id,
            note=f"unfreeze: {note}",
        )
        if cost:
            ledger.move(
                s,
                charge.account_id,
                "charge",
                amount=-cost,
                task_id=task_id,
                note=f"charge: {note}",
            )
    charge.charged_cents += cost
    charge.billed_ms += charge.pending_ms
    charge.pending_ms, charge.frozen_cents, charge.open = 0, 0, False
    charge.run_started_at, charge.updated_at = None, utcnow()
    if task is not None:
        if task.billing_status != BillingStatus.ARREARS_STOP.value:
            task.billing_status = BillingStatus.NOT_BILLING.value
        s.add(TaskLog(task_id=task_id, message=f"billing: charged {fmt(cost)} for {seconds} s"))


def credit_crash(s: Session, task_id: int) -> None:
    """The worker died and the platform requeues the task to resume from its checkpoint:
    count this segment up to its last checkpoint only; the freeze stays for the rerun."""
    charge = s.get(TaskCharge, task_id)
    if charge is None or not charge.open or charge.run_started_at is None:
        return
    start = charge.run_started_at
    checkpoint = s.scalar(
        select(TaskEvent.ts)
        .where(TaskEvent.task_id == task_id, TaskEvent.kind == "epoch")
        .order_by(TaskEvent.id.desc())
        .limit(1)
    )
    useful = (
        _elapsed_ms(start, checkpoint) if checkpoint and as_utc(checkpoint) > as_utc(start) else 0
    )
    charge.pending_ms += useful
    charge.run_started_at, charge.updated_at = None, utcnow()
    s.add(
        TaskLog(
            task_id=task_id,
            message=f"billing: the crashed run counts {useful // 1000} s (up to its last "
            "checkpoint); the time redone after the resume is charged once",
        )
    )


def accrued_cents(charge: TaskCharge, at: datetime) -> int:
    ms = charge.pending_ms + _elapsed_ms(charge.run_started_at, at)
    return cost_cents(charge.price_cents, charge.nodes, ceil_div(ms, 1000))


def watch(s: Session, task_ids: list[int], margin_s: float) -> list[int]:
    """For running tasks: top up freezes that are nearly used; return those whose
    account cannot cover the next ``margin_s`` seconds (to be stopped for arrears)."""
    at, dry = now(), []
    for charge in s.scalars(select(TaskCharge).where(TaskCharge.task_id.in_(task_ids))):
        if not charge.open or charge.run_started_at is None or charge.charge_type != POSTPAID:
            continue
        margin = cost_cents(charge.price_cents, charge.nodes, int(margin_s) + 1)
        low = cost_cents(charge.price_cents, charge.nodes, max(LOW_WATER_S, int(margin_s) + 1))
        if charge.frozen_cents - accrued_cents(charge, at) > low:
            continue
        _top_up(s, charge)
        if charge.frozen_cents - accrued_cents(charge, at) <= margin:
            dry.append(charge.task_id)
    return dry


def _top_up(s: Session, charge: TaskCharge) -> None:
    """Freeze up to another hour from what the account has available (exact amount read,
    then frozen conditionally: a concurrent change makes it miss, and the next tick
    tries again)."""
    if charge.account_id is None:
        return
    account = s.get(Account, charge.account_id)
    if account is None:
        return
    want = cost_cents(charge.price_cents, charge.nodes, TOP_UP_S)
    amount = min(want, ledger.available(s, charge.account_id))
    if amount <= 0:
        return
    note = f"freeze: task {charge.task_id} runs on ({charge.spec} × {charge.nodes})"
    if (
        ledger.move(
            s, charge.account_id, "freeze", frozen=amount, task_id=charge.task_id, note=note
        )
        is not None
    ):
        charge.frozen_cents += amount


def mark_arrears(s: Session, task: Task) -> None:
    """Stop the task for arrears: it ends STOPPED (checkpoint kept), billing ARREARS_STOP."""
    task.billing_status = BillingStatus.ARREARS_STOP.value
    task.stop_requested = True
    if task.status == Status.RUNNING.value:
        task.status = Status.STOPPING.value
        s.add(
            TaskEvent(
                task_id=task.id,
                kind="status",
                data={"status": Status.STOPPING.value, "billing": "ARREARS_STOP"},
            )
        )
    s.add(
        TaskLog(
            task_id=task.id,
            level="WARNING",
            message="billing: the account cannot pay for more run time; stopping "
            "(ARREARS_STOP). The checkpoint is kept: recharge and resume",
        )
    )


def after_end(task: Task) -> None:
    """An arrears stop reads as one in the task's ending, whoever recorded the ending."""
    if (
        task.billing_status == BillingStatus.ARREARS_STOP.value
        and task.status == Status.STOPPED.value
    ):
        task.stop_reason = ARREARS
        task.message = (
            "stopped: the account ran out of balance (ARREARS_STOP); the checkpoint is "
            f"kept: recharge, then `autolearn task resume {task.id}`"
        )


def open_terminal(s: Session) -> list[int]:
    """Tasks whose freeze is still held although they ended (or were deleted)."""
    rows = s.execute(
        select(TaskCharge.task_id, Task.status)
        .outerjoin(Task, Task.id == TaskCharge.task_id)
        .where(TaskCharge.open.is_(True))
    ).all()
    ended = {x.value for x in TERMINAL}
    return [int(tid) for tid, status in rows if status is None or status in ended]


def charge_view(charge: TaskCharge | None) -> dict[str, Any] | None:
    """What a task's page shows about its charge."""
    if charge is None:
        return None
    return {
        "charge_type": charge.charge_type,
        "spec": charge.spec,
        "nodes": charge.nodes,
        "price_per_hour": fmt(charge.price_cents),
        "frozen": fmt(charge.frozen_cents),
        "cost": fmt(charge.charged_cents),
        "cost_cents": charge.charged_cents,
        "billed_s": charge.billed_ms // 1000,
        "resource_group_id": charge.resource_group_id,
    }
