"""The console's page shells without a browser: sign-in redirects, the CSRF token on the
page, no open redirect, static files, and every string key the pages use exists."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from app_fixtures import console_session
from autolearn.web import pages
from autolearn.web.i18n import strings

WEB = Path(pages.__file__).parent


def test_pages_need_a_session_and_come_back_after_sign_in(
    app: FastAPI, tokens: dict[str, str]
) -> None:
    with TestClient(app, follow_redirects=False) as anon:
        gone = anon.get("/console?region=local")
        assert gone.status_code == 303
        assert gone.headers["location"] == "/console/login?next=/console%3Fregion%3Dlocal"
        assert anon.get("/").headers["location"] == "/console"
        login = anon.get("/console/login", params={"next": "https://evil.example/"})
        assert 'data-next="/console"' in login.text  # no open redirect
    browser, csrf = console_session(app)
    page = browser.get("/console")
    assert page.status_code == 200
    assert f'<meta name="csrf-token" content="{csrf}">' in page.text
    assert "<strong>alice</strong> (member)" in page.text


def test_static_files_and_strings_are_served(app: FastAPI) -> None:
    with TestClient(app) as c:
        js = c.get("/static/js/api.js")
        assert js.status_code == 200 and "X-CSRF-Token" in js.text
        assert c.get("/static/app.css").status_code == 200


def test_every_string_key_used_by_templates_and_scripts_exists() -> None:
    used: set[str] = set()
    for path in [*WEB.glob("templates/*.html"), *WEB.glob("static/js/*.js")]:
        used |= set(re.findall(r"""\bt\(\s*["']([a-z0-9_.]+)["']""", path.read_text()))
    assert used, "no t('...') calls found: the pattern is stale"
    missing = sorted(used - set(strings()))
    assert missing == [], f"keys used but not in strings/en/*.json: {missing}"
    assert all(json.loads(p.read_text()) for p in (WEB / "strings" / "en").glob("*.json"))


def test_regions_show_workers_slots_and_load(
    as_user, tokens: dict[str, str], autolearn_home: Path
) -> None:
    import os

    from autolearn.db import Task, Worker, session_scope

    with session_scope() as s:
        s.add(Worker(host="h", pid=os.getpid(), region="local", slots=2))
        s.add(Worker(host="h", pid=os.getpid(), region="gpu", slots=4))
        for status, region in (("RUNNING", "local"), ("QUEUED", "local"), ("QUEUED", "far")):
            s.add(
                Task(
                    name="x",
                    scenario="classification",
                    region=region,
                    status=status,
                    spec={},
                    output_uri="",
                )
            )
    rows = {r["name"]: r for r in as_user("alice").get("/api/v1/regions").json()}
    assert rows["local"] == {
        "name": "local",
        "workers": 1,
        "slots": 2,
        "running": 1,
        "queued": 1,
        "free_slots": 1,
    }
    assert rows["gpu"]["free_slots"] == 4 and rows["far"]["workers"] == 0
