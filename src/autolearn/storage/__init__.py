"""Object storage chosen by URI scheme: ``file://`` (the default) and ``s3://`` (any
S3-compatible server; needs boto3, imported only when such a store is opened)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlparse

from autolearn.registry import Registry
from autolearn.storage.base import ObjectStore, StorageError
from autolearn.storage.local import LocalStore

SCHEMES: Registry[Callable[[str], ObjectStore]] = Registry("storage scheme")
SCHEMES.register("file", LocalStore)


def _open_s3(uri: str) -> ObjectStore:
    from autolearn.storage.s3 import S3Store  # lazy: keeps boto3 out of import time

    return S3Store(uri)


SCHEMES.register("s3", _open_s3)


def open_store(uri: str) -> ObjectStore:
    """The store rooted at ``uri``; the scheme picks the backend."""
    scheme = urlparse(uri).scheme
    if not scheme:
        raise StorageError(
            f"storage location {uri!r} has no scheme; write it as a URI such as "
            f"file:///data/out (known schemes: {', '.join(SCHEMES.names())})"
        )
    if scheme not in SCHEMES:
        raise StorageError(
            f"storage URI {uri!r} uses unknown scheme {scheme!r}; "
            f"known schemes: {', '.join(SCHEMES.names())}"
        )
    return SCHEMES.get(scheme)(uri)


def default_store() -> ObjectStore:
    """The store named by the settings (``file://<home>/store`` by default)."""
    from autolearn.settings import get_settings

    return open_store(get_settings().storage_url)


__all__ = ["SCHEMES", "LocalStore", "ObjectStore", "StorageError", "default_store", "open_store"]
