"""The console's shell in a real browser: sign-in and sign-out, the start page's regions,
keyboard reach, and axe-core on the sign-in and start pages."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e


def test_sign_in_refuses_a_wrong_password_then_lands_on_the_start_page(
    new_page: Callable[[], Page],
    axe_check: Callable[[Page], None],
    snap: Callable[[Page, str], Path],
) -> None:
    page = new_page()
    page.goto("/console?region=local")  # behind the sign-in: comes back there afterwards
    page.wait_for_url(re.compile(r"/console/login\?next="))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    axe_check(page)
    snap(page, "login")

    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("not-her-password")
    page.get_by_role("button", name="Sign in").click()
    error = page.locator("#login-error")
    expect(error).to_be_visible()
    expect(error).to_have_text("Wrong username or password.")
    expect(page.get_by_label("Password")).to_be_focused()
    assert "/console/login" in page.url

    page.get_by_label("Password").fill("alice-password-123")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/console\?region=local$"))
    expect(page.locator(".who")).to_contain_text("alice")
    expect(page.locator(".who")).to_contain_text("member")


def test_sign_out_ends_the_session(page: Page) -> None:
    expect(page.locator(".who strong")).to_have_text("alice")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/console/login")
    page.goto("/console")
    page.wait_for_url(re.compile(r"/console/login\?next="))  # the cookie no longer signs in
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.locator(".who")).to_have_count(0)


def test_start_page_lists_regions_with_their_queue_worker(
    page: Page,
    axe_check: Callable[[Page], None],
    snap: Callable[[Page, str], Path],
) -> None:
    expect(page.get_by_role("heading", name="Auto Learning", level=1)).to_be_visible()
    table = page.locator("#regions")
    row = table.locator("tbody tr").filter(has=page.get_by_role("rowheader", name="local"))
    expect(row).to_have_count(1)  # the live server's queue Supervisor serves "local"
    cells = row.locator("td")
    expect(cells.nth(0)).to_contain_text("slots")
    expect(cells.nth(0)).to_contain_text("free")
    expect(cells.nth(1)).to_have_text("0")  # running
    expect(cells.nth(2)).to_have_text("0")  # queued
    new_task = row.get_by_role("link", name="New task")
    expect(new_task).to_have_attribute("href", "/console/tasks/new?region=local")
    expect(page.locator("#flash")).to_be_hidden()
    axe_check(page)
    snap(page, "start")


def _focused(page: Page) -> str:
    """The focused element as ``tag:text`` (its accessible text, trimmed)."""
    return str(
        page.evaluate(
            "() => { const e = document.activeElement;"
            " return `${e.tagName.toLowerCase()}:${(e.innerText || e.value || '').trim()}`; }"
        )
    )


def test_keyboard_reaches_the_skip_link_the_navigation_and_sign_out(page: Page) -> None:
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()  # shown when focused, for sighted keyboard users

    reached = [_focused(page)]
    for _ in range(12):
        page.keyboard.press("Tab")
        reached.append(_focused(page))
    for stop in ("a:Start", "a:New task", "a:Tasks", "a:Data center", "button:Sign out"):
        assert stop in reached, f"Tab never reached {stop}: {reached}"
    assert (
        reached.index("a:Start") < reached.index("a:Data center") < reached.index("button:Sign out")
    ), reached

    page.reload()  # from the top again: Enter on the skip link moves focus to the content
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()

    # The sign-in form works from the keyboard alone.
    page.get_by_role("button", name="Sign out").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/login")
    page.get_by_label("Username").focus()
    page.keyboard.type("bob")
    page.keyboard.press("Tab")
    page.keyboard.type("bob-password-123")
    page.keyboard.press("Enter")
    page.wait_for_url("**/console")
    expect(page.locator(".who strong")).to_have_text("bob")
