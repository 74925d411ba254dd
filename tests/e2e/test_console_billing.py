"""The Account page in a real browser: an admin recharges a member through the form and
sees the ledger entry; the member sees the balance, the spec catalogue and no recharge
form; no critical axe-core violations."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e


def test_an_admin_recharges_a_member_who_then_sees_the_balance(
    sign_in: Callable[[str], Page],
    axe_check: Callable[[Page], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from autolearn.settings import get_settings

    monkeypatch.setenv("AUTOLEARN_BILLING", "true")
    get_settings.cache_clear()
    root = sign_in("root")
    root.get_by_role("link", name="Account").click()
    root.wait_for_url("**/console/account")
    expect(root.locator("#billing-mode")).to_contain_text("Billing is on")
    root.get_by_label("User (or @local)").fill("alice")
    root.get_by_label("Amount (e.g. 100.00)").fill("25.50")
    root.get_by_label("Note").fill("quarterly budget")
    root.get_by_role("button", name="Recharge").click()
    expect(root.locator("#recharge-status")).to_contain_text("Recharged 25.50 to alice")
    axe_check(root)

    alice = sign_in("alice")
    alice.goto("/console/account")
    expect(alice.locator("#account-balance")).to_contain_text("25.50")
    expect(alice.locator("#ledger tbody tr")).to_have_count(1)
    expect(alice.locator("#ledger tbody")).to_contain_text("quarterly budget")
    expect(alice.locator("#specs tbody")).to_contain_text("gpu-t4")
    expect(alice.locator("#recharge-form")).to_have_count(0)
    axe_check(alice)
