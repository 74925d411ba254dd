"""Browser-test fixtures: the console served by a live API server (with a queue worker,
so tasks train) on the test's AUTOLEARN_HOME, and Debian's Chromium driven by Playwright.

- ``console``: the server's base URL; users ``root`` (admin), ``alice`` and ``bob``
  (members) exist, each with the password ``<name>-password-123`` (``tokens`` fixture).
- ``browser``: one headless Chromium per test module (``AUTOLEARN_TEST_CHROMIUM``,
  default ``/usr/bin/chromium``: ``scripts/test-services.sh`` installs it; Playwright's
  own downloaded browsers are not used).
- ``page``: a fresh browser context signed in as ``alice`` through the real sign-in form;
  ``sign_in(name)`` gives a page for another user.
- ``axe_check(page)``: axe-core (bundled by ``axe-playwright-python``) on the page; fails
  on critical violations and lists them.
- ``snap(page, name)``: a full-page screenshot; saved as ``docs/screenshots/<name>.png``
  with ``AUTOLEARN_UPDATE_SCREENSHOTS=1`` (they are documentation: committed, linked
  from the README), else in a temporary folder.
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

CHROMIUM = os.environ.get("AUTOLEARN_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}  # a laptop screen
PASSWORD = "{}-password-123"

# Playwright's default for expect(): long enough for a loaded CI machine.
expect.set_options(timeout=15_000)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for one test module. Not for the whole session: while Playwright's sync
    API is open it holds an event loop on this thread, and a later test's
    ``asyncio.run()`` would fail (checked)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: run scripts/test-services.sh "
            "(apt-get install chromium chromium-driver) or set AUTOLEARN_TEST_CHROMIUM"
        )
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def console(
    autolearn_home: Path, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """Base URL of a live API server (uvicorn in a thread) with a queue Supervisor for the
    ``local`` region in another thread, so that tasks created in the console train."""
    import uvicorn

    from autolearn.api.app import create_app
    from autolearn.scheduler.supervisor import Supervisor
    from autolearn.settings import get_settings

    monkeypatch.setenv("AUTOLEARN_PROGRESS_INTERVAL_S", "0")
    get_settings.cache_clear()
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(), port=port, log_level="warning", access_log=False)
    )
    serving = threading.Thread(target=server.run, name="e2e-server", daemon=True)
    serving.start()
    supervisor = Supervisor(region="local", poll_s=0.2)
    queue = threading.Thread(target=supervisor.run, name="e2e-queue", daemon=True)
    queue.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the console's test server did not start"
    yield f"http://127.0.0.1:{port}"
    supervisor.stop()
    queue.join(timeout=10)
    for handle in list(supervisor.handles.values()):  # a test that failed mid-training
        with contextlib.suppress(Exception):
            handle.kill()
    server.should_exit = True
    serving.join(timeout=10)


@pytest.fixture
def new_page(browser: Browser, console: str) -> Iterator[Callable[[], Page]]:
    """``new_page()``: a page in a fresh context (no cookies) on the console's origin."""
    contexts = []

    def make() -> Page:
        context = browser.new_context(base_url=console, viewport=VIEWPORT)  # type: ignore[arg-type]
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def sign_in(new_page: Callable[[], Page]) -> Callable[[str], Page]:
    """``sign_in("bob")``: a page signed in as that user through the sign-in form,
    on the start page."""

    def make(username: str) -> Page:
        page = new_page()
        page.goto("/console/login")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PASSWORD.format(username))
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/console")
        expect(page.locator(".who strong")).to_have_text(username)
        return page

    return make


@pytest.fixture
def page(sign_in: Callable[[str], Page]) -> Page:
    """A page signed in as ``alice`` (a member), on the start page."""
    return sign_in("alice")


def _critical_violations(page: Page) -> list[dict[str, Any]]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [v for v in results.response["violations"] if v.get("impact") == "critical"]


def _target(node: dict[str, Any]) -> str:
    target = node.get("target", [])
    return " ".join(map(str, target)) if isinstance(target, list) else str(target)


def check_axe(page: Page) -> None:
    """Run axe-core on the page as it is now; fail on any critical violation."""
    found = _critical_violations(page)
    lines = [
        f"- {v['id']}: {v['help']} ({len(v['nodes'])}: "
        + "; ".join(_target(n) for n in v["nodes"][:5])
        + ")"
        for v in found
    ]
    assert not found, f"axe-core: critical violations on {page.url}:\n" + "\n".join(lines)


def save_snap(page: Page, name: str) -> Path:
    """Save a full-page screenshot as <name>.png: in docs/screenshots when
    ``AUTOLEARN_UPDATE_SCREENSHOTS=1`` (to refresh the committed ones), else in a temporary
    folder, so that an ordinary test run leaves the working tree as it was."""
    folder = SCREENSHOTS
    if os.environ.get("AUTOLEARN_UPDATE_SCREENSHOTS") != "1":
        folder = Path(tempfile.gettempdir()) / "autolearn-screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True, animations="disabled")
    return path


@pytest.fixture
def axe_check() -> Callable[[Page], None]:
    """``axe_check(page)``: axe-core on the page; fails listing any critical violation."""
    return check_axe


@pytest.fixture
def snap() -> Callable[[Page, str], Path]:
    """``snap(page, "name")``: a full-page screenshot as docs/screenshots/name.png."""
    return save_snap
