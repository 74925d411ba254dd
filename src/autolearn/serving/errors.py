"""What can go wrong with an online service. A leaf module: the rows (``services``), the
batcher and the loaded runtimes (``manager``) raise the same errors, and the faces (API,
CLI) map them to codes and exit statuses without importing torch."""

from __future__ import annotations


class ServiceError(ValueError):
    """A request about a service that cannot be done as asked; the message says why."""


class ServiceNotFoundError(ServiceError, LookupError):
    """No such service (or not the caller's)."""


class ServiceNotReadyError(ServiceError):
    """The service cannot answer now: its model is loading, failed to load, or the
    service is stopped. A client retries later (503)."""


class ServiceOverloadedError(ServiceError):
    """The service's request queue is full (429): the client should back off."""
