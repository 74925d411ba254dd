"""Billing test support, registered by tests/conftest.py's ``pytest_plugins``: fixtures
(``billing_on``, ``billing_users`` with accounts, ``submit_task`` on a small dataset,
``billing_clock``), a stand-in executor and helpers. On SQLite and PostgreSQL through the
``database`` fixture."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from autolearn.accounts import Principal
from autolearn.db import Task
from executor_fakes import FakeHandle

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


@dataclass
class Clock:
    """The billing clock: starts at T0, moved by ``advance``."""

    at: datetime = T0

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> datetime:
        self.at += timedelta(seconds=seconds)
        return self.at


@dataclass
class FakeExecutor:
    """Launches nothing; hands back handles the test ends by setting ``code``."""

    host_bound: bool = False
    owner: int | None = None
    handles: dict[int, FakeHandle] = field(default_factory=dict)
    resources: dict[int, Mapping[str, Any]] = field(default_factory=dict)

    def launch(self, task_id: int, resources: Mapping[str, Any]) -> FakeHandle:
        self.handles[task_id] = FakeHandle(task_id)
        self.resources[task_id] = dict(resources)
        return self.handles[task_id]

    def adopt(self, tasks: Sequence[Task], live: Collection[int]) -> dict[int, FakeHandle]:
        return {}

    def sweep(self, active: Collection[int], live: Collection[int]) -> None:
        pass

    def close(self) -> None:
        pass


@pytest.fixture
def billing_on(database: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``AUTOLEARN_BILLING=true`` on the ``database`` fixture's database."""
    from autolearn.settings import get_settings

    monkeypatch.setenv("AUTOLEARN_BILLING", "true")
    get_settings.cache_clear()
    yield database
    get_settings.cache_clear()


@pytest.fixture
def billing_clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    from autolearn.billing import charging

    c = Clock()
    monkeypatch.setattr(charging, "now", c)
    return c


@pytest.fixture
def billing_users(billing_on: str) -> dict[str, Principal]:
    """alice and bob (members) and root (admin), as principals."""
    from autolearn.accounts.service import create_user

    made = {}
    for name, role in (("root", "admin"), ("alice", "member"), ("bob", "member")):
        row = create_user(name, role)
        made[name] = Principal(row["id"], name, role)
    return made


@pytest.fixture
def submit_task(
    billing_users: dict[str, Principal],
    autolearn_home: Path,
    make_learnable_folder: Callable[..., Path],
    tiny_spec: Callable[..., dict[str, Any]],
) -> Callable[..., dict[str, Any]]:
    """``submit_task(actor, spec="gpu-t4", count=1, **resources)`` creates a task on 'colours'."""
    from autolearn.datasets.service import import_dataset
    from autolearn.tasks.service import create_task, merge_spec, parse_spec

    import_dataset(make_learnable_folder(autolearn_home / "colours", {"a": 6, "b": 6}))

    def _submit(actor: Principal | None, spec: str = "gpu-t4", count: int = 1, **res: Any) -> dict:
        form = merge_spec(tiny_spec(), {"resources": {"spec": spec, "count": count, **res}})
        return create_task(parse_spec(form), actor=actor)

    return _submit


def recharge(actor: Principal, amount: str) -> None:
    from autolearn.billing.service import recharge as do

    do(None, actor.username, amount)


def account(actor: Principal | None) -> dict[str, Any]:
    from autolearn.billing.service import get_account

    return get_account(None, actor.username if actor else "@local")


def audit(actor: Principal) -> None:
    """The account's columns equal its ledger's sums, and nothing is negative."""
    from autolearn.billing.ledger import audit as sums
    from autolearn.billing.ledger import ensure_account

    a = sums(ensure_account(actor.user_id))
    assert a["balance_cents"] == a["ledger_balance_cents"]
    assert a["frozen_cents"] == a["ledger_frozen_cents"]
    assert a["balance_cents"] - a["frozen_cents"] >= 0 and a["frozen_cents"] >= 0
