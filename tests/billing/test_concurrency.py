"""100 pay-as-you-go submissions at the same moment against a balance that covers 10:
exactly 10 freezes, the balance never negative, the ledger exact. Real threads through
the real task service (planning, the task row and the freeze in one transaction), on
SQLite (WAL) and on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from autolearn.accounts import Principal
from autolearn.billing.ledger import ensure_account
from autolearn.db import session_scope
from autolearn.db.models import LedgerEntry
from billing_support import account, audit, recharge

SUBMISSIONS, AFFORDABLE = 100, 10


def test_100_submissions_at_once_freeze_exactly_what_the_balance_covers(
    billing_users: dict[str, Principal], submit_task: Callable[..., dict[str, Any]]
) -> None:
    alice = billing_users["alice"]
    recharge(alice, "240.23")  # 10 × 24.00 (gpu-t4, 2 h), and not an 11th
    submit_task(alice, "gpu-t4")  # warm up the planning imports outside the race …
    from autolearn.tasks.service import stop_task

    stop_task(1, actor=alice)  # … and give its freeze back
    barrier = threading.Barrier(SUBMISSIONS)
    results: list[dict[str, Any]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def one() -> None:
        try:
            barrier.wait(timeout=60)
            task = submit_task(alice, "gpu-t4")
            with lock:
                results.append(task)
        except BaseException as exc:
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(SUBMISSIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert errors == []
    statuses = [t["status"] for t in results]
    assert statuses.count("QUEUED") == AFFORDABLE
    assert statuses.count("SUBMIT_FAILED") == SUBMISSIONS - AFFORDABLE
    refused = [t for t in results if t["status"] == "SUBMIT_FAILED"]
    assert all("missing" in t["message"] for t in refused)
    with session_scope() as s:
        freezes = s.scalars(
            select(LedgerEntry).where(
                LedgerEntry.account_id == ensure_account(alice.user_id),
                LedgerEntry.kind == "freeze",
                LedgerEntry.task_id != 1,
            )
        ).all()
        assert len(freezes) == AFFORDABLE
        assert {f.task_id for f in freezes} == {t["id"] for t in results if t["status"] == "QUEUED"}
        after = sorted(f.frozen_after for f in freezes)
        assert after == [2400 * k for k in range(1, AFFORDABLE + 1)]  # one at a time
        assert all(f.balance_after - f.frozen_after >= 0 for f in freezes)
    view = account(alice)
    assert (view["balance"], view["frozen"], view["available"]) == ("240.23", "240.00", "0.23")
    audit(alice)
