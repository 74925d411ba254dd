"""Refunds: an admin gives back part or all of what a task was charged, as ``refund``
ledger entries that never add up to more than the charge, even when two admins refund
at once; the ledger still sums to the balance. On SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from tests.billing.test_charging import finish, started

from autolearn.accounts import Principal
from autolearn.billing.errors import BillingError, BillingNotFoundError
from autolearn.billing.service import refund
from autolearn.scheduler.supervisor import Supervisor
from billing_support import Clock, FakeExecutor, account, audit, recharge

Submit = Callable[..., dict[str, Any]]


@pytest.fixture
def charged(billing_users: dict[str, Principal], submit_task: Submit, billing_clock: Clock) -> int:
    """alice's gpu-t4 task that ran an hour: charged 12.00 of her 100.00."""
    alice = billing_users["alice"]
    recharge(alice, "100.00")
    executor = FakeExecutor()
    sup = Supervisor(executor=executor)
    task_id = int(submit_task(alice, "gpu-t4")["id"])
    started(sup, executor, task_id)
    finish(task_id, "FAILED", billing_clock.advance(3600))
    executor.handles[task_id].code = 1
    sup.reap()
    assert account(alice)["balance"] == "88.00"
    return task_id


def test_refunds_never_exceed_the_charge(billing_users: dict[str, Principal], charged: int) -> None:
    alice, root = billing_users["alice"], billing_users["root"]
    done = refund(root, charged, "5.00", "the GPU node was faulty")
    assert done["entry"]["kind"] == "refund" and done["refunded"] == "5.00"
    assert account(alice)["balance"] == "93.00"
    with pytest.raises(BillingError, match=r"at most 7\.00 can be refunded"):
        refund(root, charged, "7.01")
    assert refund(root, charged)["refunded"] == "12.00"  # the rest
    with pytest.raises(BillingError, match=r"at most 0\.00"):
        refund(root, charged, "0.01")
    with pytest.raises(BillingNotFoundError):
        refund(alice, charged, "1.00")  # members do not refund themselves
    with pytest.raises(BillingError, match="was not charged"):
        refund(root, 999_999)
    assert account(alice)["balance"] == "100.00"
    audit(alice)


def test_concurrent_refunds_give_back_the_charge_once(
    billing_users: dict[str, Principal], charged: int
) -> None:
    alice, root = billing_users["alice"], billing_users["root"]
    barrier = threading.Barrier(8)
    results: list[str] = []

    def one() -> None:
        barrier.wait()
        try:
            refund(root, charged, "4.00")
            results.append("ok")
        except BillingError:
            results.append("refused")

    threads = [threading.Thread(target=one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count("ok") == 3, results  # 3 × 4.00 = the 12.00 charged
    assert account(alice)["balance"] == "100.00"
    audit(alice)
