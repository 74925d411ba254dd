"""Typed HTTP client for the autolearn API."""

from autolearn.sdk.client import ApiError, Client

__all__ = ["ApiError", "Client"]
