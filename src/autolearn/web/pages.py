"""The console's pages: each is a shell that the browser fills from the REST API.

A page needs a console session (the cookie set by ``POST /api/v1/account/login``); without
one it redirects to the sign-in page and back. The page carries the session's CSRF token
in a ``<meta>`` tag, which ``static/js/api.js`` sends with every change. Pages hold no
data of their own, so what a member sees is exactly what the API lets them read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from autolearn.api.deps import SESSION_COOKIE
from autolearn.web.i18n import strings, translator

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
router = APIRouter(include_in_schema=False)


def _session(request: Request) -> tuple[Any, str] | None:
    from autolearn.accounts.service import authenticate_session

    cookie = request.cookies.get(SESSION_COOKIE)
    return authenticate_session(cookie) if cookie else None


def render(request: Request, template: str, **context: Any) -> Response:
    """``template`` for the signed-in user, or a redirect to the sign-in page."""
    found = _session(request)
    if found is None:
        target = quote(
            str(request.url.path) + (f"?{request.url.query}" if request.url.query else "")
        )
        return RedirectResponse(f"/console/login?next={target}", status_code=303)
    principal, csrf = found
    return templates.TemplateResponse(
        request,
        template,
        {
            "t": translator(),
            "strings_json": json.dumps(strings()),
            "user": principal,
            "csrf_token": csrf,
            "page": template.removesuffix(".html"),
            **context,
        },
    )


@router.get("/", response_class=HTMLResponse)
def root() -> Response:
    return RedirectResponse("/console", status_code=303)


@router.get("/console/login", response_class=HTMLResponse)
def login(request: Request, next: str = "/console") -> Response:
    safe_next = next if next.startswith("/console") else "/console"  # no open redirect
    return templates.TemplateResponse(
        request,
        "login.html",
        {
            "t": translator(),
            "strings_json": json.dumps(strings()),
            "user": None,
            "csrf_token": "",
            "page": "login",
            "next": safe_next,
        },
    )


@router.get("/console", response_class=HTMLResponse)
def start(request: Request) -> Response:
    return render(request, "start.html")
