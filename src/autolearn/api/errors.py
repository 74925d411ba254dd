"""Errors as JSON a program can branch on and a person can act on:
``{"error": {"code": "task_not_found", "message": "...", "fields": [...]}}``.

Service exceptions already carry messages written for users (they name the field and
what to fix); here they only get a status code and a stable machine-readable code.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from autolearn.accounts.service import AccountError, AccountNotFoundError
from autolearn.api.deps import AuthError
from autolearn.api.routes.models import ImageError, ImageTooLargeError
from autolearn.billing.catalog import CatalogError
from autolearn.billing.errors import BillingError, BillingNotFoundError, InsufficientBalanceError
from autolearn.datasets.commit import DatasetPermissionError
from autolearn.datasets.deletion import DatasetInUseError
from autolearn.datasets.formats.base import DatasetError
from autolearn.datasets.labelling import DraftNotFoundError, ImageNotFoundError
from autolearn.datasets.report import DatasetImportError
from autolearn.datasets.versions import DatasetNotFoundError
from autolearn.models.published import (
    ModelNameTakenError,
    ModelVersionError,
    ModelVersionInUseError,
    ModelVersionNotFoundError,
    PublishRefusedError,
)
from autolearn.optimize.errors import ExportError, ExportFormatError, OptimizeError, ProfileError
from autolearn.registry import RegistryError
from autolearn.serving.errors import (
    ServiceError,
    ServiceNotFoundError,
    ServiceNotReadyError,
    ServiceOverloadedError,
)
from autolearn.storage import StorageError
from autolearn.tasks.service import (
    EvaluationNotFoundError,
    ModelNotFoundError,
    TaskError,
    TaskNotFoundError,
    TaskStateError,
)
from autolearn.tasks.spec import is_union_tag

RETRY_AFTER_S = 1
MAX_FIELDS = 100  # error rows of an import report listed as fields (the report has all)
# (exception, HTTP status, code); the first match wins, so subclasses come first.
_MAPPING: tuple[tuple[type[Exception], int, str], ...] = (
    (ModelNotFoundError, 404, "model_not_found"),
    (InsufficientBalanceError, 402, "insufficient_balance"),
    (BillingNotFoundError, 404, "billing_not_found"),
    (BillingError, 422, "invalid_billing_request"),
    (CatalogError, 422, "invalid_resource_spec"),
    (EvaluationNotFoundError, 404, "evaluation_not_found"),
    (TaskNotFoundError, 404, "task_not_found"),
    (TaskStateError, 409, "task_state_conflict"),
    (TaskError, 422, "invalid_task"),
    (DraftNotFoundError, 404, "draft_not_found"),
    (ImageNotFoundError, 404, "image_not_found"),
    (DatasetPermissionError, 403, "dataset_not_writable"),
    (DatasetInUseError, 409, "dataset_in_use"),
    (DatasetNotFoundError, 404, "dataset_not_found"),
    (DatasetError, 422, "invalid_dataset"),
    (RegistryError, 422, "unknown_name"),
    (StorageError, 422, "storage_error"),
    (AccountNotFoundError, 404, "account_not_found"),
    (AccountError, 422, "invalid_account_request"),
    (ImageTooLargeError, 413, "image_too_large"),
    (ImageError, 422, "invalid_image"),
    (ModelVersionNotFoundError, 404, "model_version_not_found"),
    (ModelVersionInUseError, 409, "model_version_in_use"),
    (ModelNameTakenError, 409, "model_name_taken"),
    (PublishRefusedError, 422, "publish_refused"),
    (ModelVersionError, 422, "invalid_model_version"),
    (ServiceNotFoundError, 404, "service_not_found"),
    (ServiceOverloadedError, 429, "overloaded"),
    (ServiceNotReadyError, 503, "not_ready"),
    (ServiceError, 422, "invalid_service"),
    (ProfileError, 422, "profile_unavailable"),
    (ExportError, 422, "export_unsupported"),
    (ExportFormatError, 422, "invalid_export_format"),
    (OptimizeError, 422, "optimization_failed"),
)


def error_body(code: str, message: str, fields: list[dict[str, Any]] | None = None) -> dict:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return {"error": body}


def _field_path(loc: tuple[Any, ...]) -> str:
    """('body', 'model', 'hyperparams', 'lr', 'constrained-float') → model.hyperparams.lr"""
    parts = [str(p) for p in loc[1:] if not is_union_tag(p)] if loc else []
    return ".".join(parts) or (str(loc[0]) if loc else "body")


async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    fields: dict[str, list[str]] = {}
    for item in exc.errors():
        path = _field_path(tuple(item.get("loc", ())))
        fields.setdefault(path, []).append(str(item.get("msg", "")).removeprefix("Value error, "))
    rows = [{"field": f, "message": "; ".join(dict.fromkeys(m))} for f, m in fields.items()]
    summary = "; ".join(f"{r['field']}: {r['message']}" for r in rows)
    return JSONResponse(status_code=422, content=error_body("validation_error", summary, rows))


def _service_handler(status: int, code: str) -> Any:
    # An overloaded or loading service asks clients to come back shortly (RFC 9110 §10.2.3).
    headers = {"Retry-After": str(RETRY_AFTER_S)} if status in (429, 503) else None

    async def handler(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(status_code=status, content=error_body(code, str(exc)), headers=headers)

    return handler


async def _import_refused(request: Request, exc: DatasetImportError) -> JSONResponse:
    """A refused import: its error rows as ``fields`` (file → message) and the whole
    report, so a client can show every finding as the CLI does."""
    rows = exc.import_report.errors()[:MAX_FIELDS]
    fields = [{"field": r["file"], "message": r["message"], "code": r["code"]} for r in rows]
    body = error_body("import_refused", str(exc), fields)
    body["error"]["report"] = exc.report
    return JSONResponse(status_code=422, content=body)


async def _auth(request: Request, exc: AuthError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return JSONResponse(
        status_code=exc.status, content=error_body(exc.code, str(exc)), headers=headers
    )


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(AuthError, _auth)  # type: ignore[arg-type]
    app.add_exception_handler(DatasetImportError, _import_refused)  # type: ignore[arg-type]
    for exc_type, status, code in _MAPPING:
        app.add_exception_handler(exc_type, _service_handler(status, code))
