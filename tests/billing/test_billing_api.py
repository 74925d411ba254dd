"""The billing routes, the SDK and the CLI: account and ledger, recharge (admins),
resource groups, the catalogue, estimates before launch (and in the task preview), a
task's billing status and cost in its view; 402 when a resume cannot be paid."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from autolearn.sdk import Client


@pytest.fixture
def billed(autolearn_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from autolearn.settings import get_settings

    monkeypatch.setenv("AUTOLEARN_BILLING", "true")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def colours(billed: None, autolearn_home: Path, make_learnable_folder: Callable[..., Path]) -> str:
    from autolearn.datasets.service import import_dataset

    import_dataset(make_learnable_folder(autolearn_home / "colours", {"a": 6, "b": 6}))
    return "colours"


def test_recharge_account_and_ledger_pages(
    billed: None, as_user: Callable[[str | None], TestClient]
) -> None:
    root, alice = as_user("root"), as_user("alice")
    for amount in ("10.00", "0.05", "20"):
        assert root.post(
            "/api/v1/billing/recharge", json={"user": "alice", "amount": amount}
        ).is_success
    me = alice.get("/api/v1/billing/account").json()
    assert (me["balance"], me["available"], me["billing"]) == ("30.05", "30.05", True)
    page = alice.get("/api/v1/billing/ledger", params={"limit": 2}).json()
    assert page["total"] == 3 and [e["amount"] for e in page["items"]] == ["20.00", "0.05"]
    bad = root.post("/api/v1/billing/recharge", json={"user": "alice", "amount": "1.005"})
    assert bad.status_code == 422
    nobody = root.post("/api/v1/billing/recharge", json={"user": "mallory", "amount": "1"})
    assert nobody.status_code == 404 and nobody.json()["error"]["code"] == "billing_not_found"
    # refunds (tests/billing/test_refunds.py has the arithmetic): admins only, a charge needed
    uncharged = root.post("/api/v1/billing/refunds", json={"task_id": 99, "amount": "1.00"})
    assert uncharged.status_code == 422 and "was not charged" in uncharged.text
    assert alice.post("/api/v1/billing/refunds", json={"task_id": 99}).status_code == 403
    from autolearn.cli.main import app

    refused = CliRunner().invoke(app, ["account", "refund", "99", "--amount", "1.00"])
    assert refused.exit_code == 2 and "was not charged" in refused.output


def test_specs_groups_and_the_sdk(
    billed: None, as_user: Callable[[str | None], TestClient]
) -> None:
    root, alice = Client(http=as_user("root")), as_user("alice")
    catalogue = alice.get("/api/v1/billing/specs").json()
    t4 = next(s for s in catalogue["specs"] if s["name"] == "gpu-t4")
    assert (t4["gpus"], t4["price_per_hour"], catalogue["freeze_hours"]) == (1, "12.00", 2)
    root.recharge("alice", "100.00")
    made = root.create_resource_group("t4s", "gpu-t4", nodes=1, hours=2, owner="alice")
    assert made["price"] == "24.00" and made["status"] == "ACTIVE"
    assert root.get_account("alice")["balance"] == "76.00"
    assert [g["name"] for g in alice.get("/api/v1/billing/resource-groups").json()] == ["t4s"]
    assert as_user("bob").get("/api/v1/billing/resource-groups").json() == []
    denied = alice.post("/api/v1/billing/resource-groups/t4s/expire")
    assert denied.status_code == 403
    assert root.expire_resource_group("t4s")["status"] == "EXPIRED"
    dear = alice.post("/api/v1/billing/recharge", json={"user": "alice", "amount": "1"})
    assert dear.status_code == 403
    poor = as_user("root").post(
        "/api/v1/billing/resource-groups",
        json={"name": "big", "spec": "gpu-v100", "nodes": 8, "hours": 100, "owner": "bob"},
    )
    assert poor.status_code == 402 and "missing" in poor.json()["error"]["message"]


def test_estimate_preview_task_view_and_a_resume_that_cannot_be_paid(
    colours: str,
    as_user: Callable[[str | None], TestClient],
    tiny_spec: Callable[..., dict[str, Any]],
) -> None:
    root, alice = as_user("root"), as_user("alice")
    spec = tiny_spec(max_duration=3600)
    spec["resources"] = {"spec": "gpu-t4", "count": 2}
    estimate = alice.post("/api/v1/billing/estimate", json=spec).json()
    assert estimate["freeze"] == "48.00" and estimate["price_per_hour"] == "24.00"
    assert estimate["throughput"] == "estimated" and 0 < estimate["eta_s"] <= 3600
    assert estimate["max_cost"] == "24.00"  # an hour at most
    preview = alice.post("/api/v1/tasks/preview", json=spec).json()
    assert preview["estimate"]["freeze"] == "48.00"
    refused = alice.post("/api/v1/tasks", json=spec).json()
    assert refused["status"] == "SUBMIT_FAILED" and "48.00 missing" in refused["message"]
    root.post("/api/v1/billing/recharge", json={"user": "alice", "amount": "50.00"})
    task = alice.post("/api/v1/tasks", json=spec).json()
    assert task["status"] == "QUEUED" and task["billing_status"] == "BILLING"
    shown = alice.get(f"/api/v1/tasks/{task['id']}").json()
    assert shown["billing"]["frozen"] == "48.00" and shown["cost"] == "0.00"
    listed = alice.get("/api/v1/tasks").json()["items"]
    assert {t["billing_status"] for t in listed} == {"BILLING", "NOT_BILLING"}
    assert {t["cost"] for t in listed} == {"0.00"}
    alice.post(f"/api/v1/tasks/{task['id']}/stop")
    root.post("/api/v1/billing/recharge", json={"user": "bob", "amount": "1"})
    other = alice.post("/api/v1/tasks", json={**spec, "resources": {"spec": "gpu-a10"}}).json()
    assert other["status"] == "QUEUED"  # 32.00 of the 50.00 frozen now
    resumed = alice.post(f"/api/v1/tasks/{task['id']}/resume")
    assert resumed.status_code == 402
    assert resumed.json()["error"]["code"] == "insufficient_balance"
    bad_region = alice.post("/api/v1/tasks", json={**spec, "resources": {"spec": "tpu-v9"}})
    assert bad_region.status_code == 422 and "known specs" in bad_region.text


def test_cli_account_specs_groups_and_the_estimate_before_queuing(
    colours: str, tiny_spec: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    from autolearn.cli.main import app

    cli = CliRunner()
    shown = cli.invoke(app, ["specs"])
    assert shown.exit_code == 0 and "gpu-t4" in shown.output and "12.00" in shown.output
    poor = cli.invoke(app, ["task", "create", "--dataset", "colours", "--resource-spec",
                            "gpu-t4", "--no-start-worker", "--max-duration", "60s"])  # fmt: skip
    assert poor.exit_code == 1
    assert "estimate: gpu-t4 × 1" in poor.output and "24.00 missing" in poor.output
    assert cli.invoke(app, ["account", "recharge", "@local", "30"]).exit_code == 0
    made = cli.invoke(app, ["task", "create", "--dataset", "colours", "--resource-spec",
                            "gpu-t4", "--no-start-worker", "--max-duration", "60s"])  # fmt: skip
    assert made.exit_code == 0, made.output
    view = json.loads(cli.invoke(app, ["account", "show", "--json"]).output)
    assert (view["balance"], view["frozen"]) == ("30.00", "24.00")
    ledger = cli.invoke(app, ["account", "ledger"])
    assert "freeze" in ledger.output and "recharge" in ledger.output
    group = cli.invoke(app, ["resource-group", "create", "lab", "--spec", "cpu-8c32g",
                             "--nodes", "2", "--hours", "5", "--free"])  # fmt: skip
    assert group.exit_code == 0, group.output
    listed = json.loads(cli.invoke(app, ["resource-group", "list", "--json"]).output)
    assert [(g["name"], g["nodes"], g["status"]) for g in listed] == [("lab", 2, "ACTIVE")]
    missing = cli.invoke(app, ["resource-group", "expire", "nope"])
    assert missing.exit_code == 2 and "does not exist" in missing.output
