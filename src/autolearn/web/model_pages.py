"""Console pages: Models (published versions: list; one version with its card and
metrics, download, delete, deploy) and Services (list; one service with its health, stop,
start, delete, and an image upload whose result is drawn: classes with score bars, or
boxes on the image).

Shells like every console page: ``static/js/models.js``, ``model.js``, ``services.js``
and ``service.js`` fill them from ``/api/v1/model-versions`` and ``/api/v1/services``, so
a member sees exactly what the API lets them read.
"""

from __future__ import annotations

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from autolearn.web.pages import render

router = APIRouter(include_in_schema=False)


@router.get("/console/models", response_class=HTMLResponse)
def models(request: Request) -> Response:
    return render(request, "models.html")


@router.get("/console/models/{ref}", response_class=HTMLResponse)
def model(
    request: Request,
    ref: str = Path(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"),
) -> Response:
    """One version (the reference travels to the script in ``data-ref``)."""
    return render(request, "model.html", ref=ref)


@router.get("/console/services", response_class=HTMLResponse)
def services(request: Request) -> Response:
    return render(request, "services.html")


@router.get("/console/services/{service_id}", response_class=HTMLResponse)
def service(request: Request, service_id: int = Path(ge=1, le=2**31 - 1)) -> Response:
    return render(request, "service.html", service_id=service_id)
