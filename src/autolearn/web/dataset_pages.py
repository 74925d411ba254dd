"""Console pages: Data center: datasets, versions, upload, image grid, labelling.

The pages are shells, like every console page: the datasets, versions, images and
drafts come from the REST API in the browser, so a member sees exactly what the API lets
them read (another member's dataset renders an empty page whose API calls answer 404).
The server only passes the path's dataset name and the query's version or draft id on
to the page, after checking their shape: the page puts them into API URLs, and a value
the API could never accept is better dropped here than sent on.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from autolearn.web.pages import render

router = APIRouter(include_in_schema=False)

# As the data center's own rules (datasets.archive.check_name, labelling's draft ids).
_DATASET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_DRAFT_ID = re.compile(r"^[0-9a-f]{32}$")
_VERSION = re.compile(r"^v?([1-9][0-9]{0,8})$")


def version_param(value: str | None) -> int | None:
    """The version number in ``?version=`` (``3`` or ``v3``), or None for anything else,
    so that a stale or mistyped link opens the latest version instead of an error page."""
    found = _VERSION.match((value or "").strip())
    return int(found.group(1)) if found else None


def draft_param(value: str | None) -> str | None:
    """A draft id in ``?draft=`` if it has a draft id's shape (32 hex digits), else None."""
    value = (value or "").strip().lower()
    return value if _DRAFT_ID.match(value) else None


def dataset_name(value: str) -> str | None:
    """``value`` if it can be a dataset name; None makes the page say it does not exist
    without asking the API about a name no dataset can have."""
    return value if _DATASET_NAME.match(value) else None


@router.get("/console/datasets", response_class=HTMLResponse)
def datasets(request: Request) -> Response:
    """Every dataset the user can read, and the upload form."""
    return render(request, "datasets.html")


@router.get("/console/datasets/{name}", response_class=HTMLResponse)
def dataset(request: Request, name: str, version: str | None = None) -> Response:
    """One dataset: its versions, statistics, report and image grid."""
    return render(
        request,
        "dataset.html",
        name=dataset_name(name),
        raw_name=name,
        version=version_param(version),
    )


@router.get("/console/datasets/{name}/label", response_class=HTMLResponse)
def labelling(
    request: Request, name: str, version: str | None = None, draft: str | None = None
) -> Response:
    """Labelling a version in a draft (opened, or resumed by id or by its base version).

    The page is ``dataset_label`` so the navigation still marks the Data center."""
    return render(
        request,
        "labelling.html",
        page="dataset_label",
        name=dataset_name(name),
        raw_name=name,
        version=version_param(version),
        draft=draft_param(draft),
    )
