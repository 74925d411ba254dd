"""Pay-as-you-go from submission to settlement, through the real task service and the
supervisor (with a stand-in executor and a billing clock): the 2-hour freeze, refusal
with the amount missing, per-second settlement, arrears stops that keep the checkpoint,
crashes the platform resumes not charged twice. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from autolearn.accounts import Principal
from autolearn.billing.ledger import ensure_account
from autolearn.db import Task, TaskEvent, session_scope
from autolearn.db.models import LedgerEntry
from autolearn.scheduler.supervisor import Supervisor
from autolearn.scheduler.worker import _begin
from autolearn.storage import open_store
from autolearn.tasks.results import LAST_KEY
from autolearn.tasks.service import get_task, resume_task, stop_task
from billing_support import Clock, FakeExecutor, account, audit, recharge

Submit = Callable[..., dict[str, Any]]


def entries(actor: Principal, kind: str | None = None) -> list[LedgerEntry]:
    with session_scope() as s:
        query = select(LedgerEntry).where(LedgerEntry.account_id == ensure_account(actor.user_id))
        if kind:
            query = query.where(LedgerEntry.kind == kind)
        return list(s.scalars(query.order_by(LedgerEntry.id)))


def finish(task_id: int, status: str, at: datetime) -> None:
    """What the worker does at its end: its own status and finish time."""
    with session_scope() as s:
        task = s.get(Task, task_id)
        assert task is not None
        task.status, task.finished_at = status, at
        s.add(TaskEvent(task_id=task_id, kind="status", data={"status": status}))


def started(sup: Supervisor, executor: FakeExecutor, task_id: int) -> None:
    """The supervisor claims and launches it; the worker marks it RUNNING."""
    sup.launch()
    assert task_id in executor.handles
    _begin(task_id, None)


def test_insufficient_balance_is_submit_failed_with_the_amount_missing(
    billing_users: dict[str, Principal], submit_task: Submit
) -> None:
    alice = billing_users["alice"]
    recharge(alice, "10.00")
    task = submit_task(alice, "gpu-t4")  # 12.00/h × 1 × 2 h = 24.00
    assert task["status"] == "SUBMIT_FAILED"
    assert task["billing_status"] == "NOT_BILLING"
    assert "needs 24.00" in task["message"] and "14.00 missing" in task["message"]
    assert entries(alice, "freeze") == []
    assert account(alice)["available"] == "10.00"
    never_recharged = submit_task(billing_users["bob"], "cpu-2c8g")  # 0.60 × 2 = 1.20
    assert never_recharged["status"] == "SUBMIT_FAILED"
    assert "1.20 missing" in never_recharged["message"]
    audit(alice)


def test_the_freeze_is_two_hours_of_the_price_times_the_nodes(
    billing_users: dict[str, Principal], submit_task: Submit
) -> None:
    alice = billing_users["alice"]
    recharge(alice, "100.00")
    task = submit_task(alice, "gpu-t4", count=2)
    assert task["status"] == "QUEUED" and task["billing_status"] == "BILLING"
    [freeze] = entries(alice, "freeze")
    assert (freeze.frozen_cents, freeze.amount_cents, freeze.task_id) == (4800, 0, task["id"])
    assert account(alice)["frozen"] == "48.00" and account(alice)["available"] == "52.00"
    assert get_task(task["id"], actor=alice)["billing"]["frozen"] == "48.00"
    stop_task(task["id"], actor=alice)  # stopped before it ran: everything comes back
    assert account(alice)["available"] == "100.00" and account(alice)["frozen"] == "0.00"
    assert get_task(task["id"], actor=alice)["cost"] == "0.00"
    audit(alice)


def test_settlement_is_by_the_second_rounded_up_to_the_cent(
    billing_users: dict[str, Principal], submit_task: Submit, billing_clock: Clock
) -> None:
    alice = billing_users["alice"]
    recharge(alice, "100.00")
    executor = FakeExecutor()
    sup = Supervisor(executor=executor, slots=2)
    short = submit_task(alice, "gpu-t4")["id"]
    started(sup, executor, short)
    finish(short, "SUCCEED", billing_clock.advance(61))  # 61 s × 12.00/h = 0.2033…
    executor.handles[short].code = 0
    sup.reap()
    view = get_task(short, actor=alice)
    assert view["billing_status"] == "NOT_BILLING"
    assert view["cost"] == "0.21" and view["billing"]["billed_s"] == 61
    assert account(alice)["balance"] == "99.79" and account(alice)["frozen"] == "0.00"
    kinds = [(e.kind, e.amount_cents, e.frozen_cents) for e in entries(alice)]
    assert kinds == [("recharge", 10000, 0), ("freeze", 0, 2400), ("unfreeze", 0, -2400),
                     ("charge", -21, 0)]  # fmt: skip
    hour = submit_task(alice, "gpu-t4")["id"]
    started(sup, executor, hour)
    finish(hour, "FAILED", billing_clock.advance(3600))  # failures are charged their run time too
    executor.handles[hour].code = 1
    sup.reap()
    assert get_task(hour, actor=alice)["cost"] == "12.00"
    assert account(alice)["balance"] == "87.79"
    audit(alice)


def test_an_arrears_stop_keeps_the_checkpoint_and_resumes_after_a_recharge(
    billing_users: dict[str, Principal], submit_task: Submit, billing_clock: Clock
) -> None:
    alice = billing_users["alice"]
    recharge(alice, "30.00")  # the 24.00 freeze, and 6.00 (30 min) to run on
    executor = FakeExecutor()
    sup = Supervisor(executor=executor)
    task_id = submit_task(alice, "gpu-t4")["id"]
    started(sup, executor, task_id)
    open_store(get_task(task_id)["output_uri"]).put_bytes(LAST_KEY, b"epoch 7 state")
    billing_clock.advance(2 * 3600 - 40)  # the freeze is nearly spent: the rest is frozen too
    sup.watch_billing()
    assert get_task(task_id)["status"] == "RUNNING"
    assert account(alice)["available"] == "0.00" and account(alice)["frozen"] == "30.00"
    billing_clock.advance(1820)  # 20 s of the 2.5 h frozen left, and nothing more: stop
    sup.watch_billing()
    sup.enforce()
    assert get_task(task_id)["billing_status"] == "ARREARS_STOP"
    assert executor.handles[task_id].term_sent_at is not None  # SIGTERM sent
    executor.handles[task_id].code = -15
    billing_clock.advance(35)  # it took its time to stop: 15 s past what was frozen
    sup.reap()
    task = get_task(task_id, actor=alice)
    assert task["status"] == "STOPPED" and task["stop_reason"] == "arrears"
    assert task["billing_status"] == "ARREARS_STOP"
    assert open_store(task["output_uri"]).get_bytes(LAST_KEY) == b"epoch 7 state"
    assert task["cost"] == "30.00"  # never more than was frozen: the balance stays ≥ 0
    assert account(alice)["balance"] == "0.00" and account(alice)["frozen"] == "0.00"
    audit(alice)
    recharge(alice, "50.00")
    resumed = resume_task(task_id, actor=alice)
    assert resumed["status"] == "QUEUED" and resumed["billing_status"] == "BILLING"
    assert account(alice)["frozen"] == "24.00"
    audit(alice)


def test_a_crash_the_platform_resumes_is_not_charged_twice(
    billing_users: dict[str, Principal], submit_task: Submit, billing_clock: Clock
) -> None:
    alice = billing_users["alice"]
    recharge(alice, "100.00")
    executor = FakeExecutor()
    first = Supervisor(executor=executor)
    task_id = submit_task(alice, "gpu-t4")["id"]
    started(first, executor, task_id)
    t0 = billing_clock.at
    with session_scope() as s:  # epoch 1 ends (checkpoint written) 600 s in
        s.add(TaskEvent(task_id=task_id, kind="epoch", epoch=1, ts=t0 + timedelta(seconds=600)))
    billing_clock.advance(900)  # the worker dies 300 s into epoch 2, while no supervisor watches
    second = Supervisor(executor=FakeExecutor())
    second.recover()  # the platform requeues it to resume from epoch 1's checkpoint
    assert get_task(task_id)["status"] == "QUEUED"
    assert account(alice)["frozen"] == "24.00"  # the freeze stays for the rerun
    started(second, second.executor, task_id)  # type: ignore[arg-type]
    finish(task_id, "SUCCEED", billing_clock.advance(700))  # redoes epoch 2 (300 s) and more
    second.executor.handles[task_id].code = 0  # type: ignore[attr-defined]
    second.reap()
    task = get_task(task_id, actor=alice)
    assert task["billing"]["billed_s"] == 600 + 700  # not 900 + 700
    assert task["cost"] == "4.34"  # 1300 s × 12.00/h = 4.333… → 4.34
    assert account(alice)["balance"] == "95.66"
    audit(alice)


def test_billing_is_off_by_default(
    submit_task: Submit, billing_users: dict[str, Principal], monkeypatch: Any
) -> None:
    from autolearn.settings import get_settings

    monkeypatch.setenv("AUTOLEARN_BILLING", "false")
    get_settings.cache_clear()
    task = submit_task(billing_users["alice"], "gpu-v100")
    assert task["status"] == "QUEUED" and task["billing_status"] == "NOT_BILLING"
    assert entries(billing_users["alice"]) == []
    assert submit_task(None, "gpu-v100")["status"] == "QUEUED"  # the local operator, unbilled


def test_the_local_operator_is_billed_to_the_local_account_when_billing_is_on(
    billing_users: dict[str, Principal], submit_task: Submit
) -> None:
    from autolearn.billing.service import recharge as do

    assert submit_task(None, "cpu-2c8g")["status"] == "SUBMIT_FAILED"
    do(None, "@local", "5.00")
    task = submit_task(None, "cpu-2c8g")
    assert task["status"] == "QUEUED" and task["billing_status"] == "BILLING"
    assert account(None)["frozen"] == "1.20"
