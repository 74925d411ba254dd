"""Authentication over HTTP: bearer tokens, the console's cookie session with its CSRF
token, tokens made and revoked through the API, and admin-only user management."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from fastapi.testclient import TestClient


def test_cookie_session_needs_the_csrf_header_for_changes(
    app: FastAPI, tokens: dict[str, str]
) -> None:
    with TestClient(app) as browser:
        bad = browser.post(
            "/api/v1/account/login", json={"username": "alice", "password": "wrong-password"}
        )
        assert bad.status_code == 401 and bad.json()["error"]["code"] == "login_failed"
        ok = browser.post(
            "/api/v1/account/login",
            json={"username": "alice", "password": "alice-password-123"},
        )
        assert ok.status_code == 200
        cookie = ok.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        csrf = ok.json()["csrf_token"]
        assert browser.get("/api/v1/account").json()["username"] == "alice"  # reads: cookie
        refused = browser.post("/api/v1/account/tokens", json={"name": "x"})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf_failed"
        forged = browser.post(
            "/api/v1/account/tokens", json={"name": "x"}, headers={"X-CSRF-Token": "guess"}
        )
        assert forged.status_code == 403
        made = browser.post(
            "/api/v1/account/tokens", json={"name": "x"}, headers={"X-CSRF-Token": csrf}
        )
        assert made.status_code == 201
        assert (
            browser.post("/api/v1/account/logout", headers={"X-CSRF-Token": csrf}).status_code
            == 204
        )
        after = browser.get("/api/v1/account")
        assert after.status_code == 401


def test_tokens_made_through_the_api_work_and_revoked_ones_do_not(
    app: FastAPI, as_user: Callable[[str | None], TestClient]
) -> None:
    alice = as_user("alice")
    made = alice.post("/api/v1/account/tokens", json={"name": "laptop", "ttl_days": 30}).json()
    assert made["expires_at"] and made["token"].startswith("al_")
    with TestClient(app, headers={"Authorization": f"Bearer {made['token']}"}) as laptop:
        assert laptop.get("/api/v1/account").json()["username"] == "alice"
        listed = alice.get("/api/v1/account/tokens").json()
        assert {t["name"] for t in listed} == {"tests", "laptop"}
        assert all("token" not in t for t in listed)
        assert alice.delete(f"/api/v1/account/tokens/{made['id']}").json()["revoked"] is True
        gone = laptop.get("/api/v1/account")
        assert gone.status_code == 401 and gone.json()["error"]["code"] == "invalid_token"


def test_admins_manage_users(as_user: Callable[[str | None], TestClient]) -> None:
    root = as_user("root")
    made = root.post("/api/v1/users", json={"username": "carol", "role": "member"})
    assert made.status_code == 201
    dup = root.post("/api/v1/users", json={"username": "CAROL"})
    assert dup.status_code == 422 and "taken" in dup.json()["error"]["message"]
    token = root.post(f"/api/v1/users/{made.json()['id']}/tokens", params={"name": "svc"})
    assert token.status_code == 201
    off = root.patch(f"/api/v1/users/{made.json()['id']}", json={"active": False})
    assert off.json()["active"] is False
    me = root.get("/api/v1/account").json()
    refused = root.patch(f"/api/v1/users/{me['id']}", json={"role": "member"})
    assert refused.status_code == 422 and "another admin" in refused.json()["error"]["message"]
    assert len(root.get("/api/v1/users").json()) == 4
