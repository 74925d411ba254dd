"""Prepaid resource groups: tasks run inside the group's capacity (the rest wait
QUEUED), are not charged per task, and an expired group takes no new tasks. On SQLite
and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from autolearn.accounts import Principal
from autolearn.billing.errors import InsufficientBalanceError
from autolearn.billing.service import create_group, expire_group, list_groups
from autolearn.scheduler.supervisor import Supervisor
from autolearn.tasks.service import TaskError, get_task
from billing_support import FakeExecutor, account, audit, recharge

Submit = Callable[..., dict[str, Any]]


def prepaid(submit_task: Submit, actor: Principal, group: str = "team-t4", count: int = 1) -> int:
    task = submit_task(actor, "gpu-t4", count, charge_type="PREPAID", resource_group=group)
    assert task["status"] == "QUEUED" and task["billing_status"] == "NOT_BILLING"
    return int(task["id"])


def test_prepaid_tasks_queue_at_capacity_and_are_not_charged(
    billing_users: dict[str, Principal], submit_task: Submit
) -> None:
    alice = billing_users["alice"]
    recharge(alice, "500.00")
    group = create_group(None, "team-t4", "gpu-t4", nodes=2, hours=10, owner="alice")
    assert group["price"] == "240.00"  # 2 nodes × 12.00/h × 10 h, paid once
    assert account(alice)["balance"] == "260.00"
    first, second, third = (prepaid(submit_task, alice, count=c) for c in (1, 1, 2))
    executor = FakeExecutor()
    sup = Supervisor(executor=executor, slots=5)
    sup.launch()
    assert sorted(executor.handles) == [first, second]  # 2 of 2 nodes taken
    assert get_task(third)["status"] == "QUEUED"  # waits for both nodes
    [row] = list_groups(alice)
    assert (row["nodes_in_use"], row["queued"]) == (2, 1)
    executor.handles[first].code = 1  # one ends: one node free, not enough for 2
    sup.reap()
    sup.launch()
    assert get_task(third)["status"] == "QUEUED"
    executor.handles[second].code = 1
    sup.reap()
    sup.launch()
    assert get_task(third)["status"] == "STARTING"
    assert account(alice)["balance"] == "260.00" and account(alice)["frozen"] == "0.00"
    audit(alice)


def test_a_full_group_does_not_hold_up_other_tasks_of_the_region(
    billing_users: dict[str, Principal], submit_task: Submit
) -> None:
    bob = billing_users["bob"]
    create_group(None, "solo", "gpu-t4", nodes=1, hours=1, charge=False)  # shared, free
    running, waiting = prepaid(submit_task, bob, "solo"), prepaid(submit_task, bob, "solo")
    recharge(bob, "10.00")
    other = submit_task(bob, "cpu-2c8g")["id"]
    executor = FakeExecutor()
    Supervisor(executor=executor, slots=5).launch()
    assert sorted(executor.handles) == [running, other]
    assert get_task(waiting)["status"] == "QUEUED"


def test_an_expired_group_takes_no_new_tasks(
    billing_users: dict[str, Principal], submit_task: Submit
) -> None:
    alice = billing_users["alice"]
    create_group(None, "old", "gpu-t4", nodes=1, hours=1, owner="alice", charge=False)
    queued = prepaid(submit_task, alice, "old")
    expire_group(None, "old")
    with pytest.raises(TaskError, match="expired"):
        prepaid(submit_task, alice, "old")
    sup = Supervisor(executor=FakeExecutor())
    sup.watch_billing()
    task = get_task(queued)
    assert task["status"] == "SUBMIT_FAILED" and "expired" in task["message"]


def test_a_group_is_only_for_its_owner_its_spec_and_a_paid_period(
    billing_users: dict[str, Principal], submit_task: Submit
) -> None:
    create_group(None, "alices", "gpu-t4", nodes=1, hours=1, owner="alice", charge=False)
    with pytest.raises(TaskError, match="does not exist"):
        prepaid(submit_task, billing_users["bob"], "alices")
    with pytest.raises(TaskError, match="gpu-t4 nodes, not gpu-a10"):
        submit_task(
            billing_users["alice"], "gpu-a10", charge_type="PREPAID", resource_group="alices"
        )
    with pytest.raises(InsufficientBalanceError, match="missing"):
        create_group(None, "dear", "gpu-v100", nodes=4, hours=100, owner="bob")
    assert [g["name"] for g in list_groups(billing_users["bob"])] == []
