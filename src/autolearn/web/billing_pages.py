"""The console's Account page: balance and ledger, prepaid resource groups, the spec
catalogue, and (admins) the recharge form. A shell like every page: the data comes from
``/api/v1/billing`` in the browser (``static/js/account.js``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from autolearn.web.pages import render

router = APIRouter(include_in_schema=False)


@router.get("/console/account", response_class=HTMLResponse)
def account(request: Request) -> Response:
    return render(request, "account.html")
