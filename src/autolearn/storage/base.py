"""The object-store interface every artifact goes through.

Keys are relative, slash-separated names under the store's root URI. Writers are
atomic: a reader sees either the whole old object or the whole new one, never a
half-written file, so a crash cannot leave a model that looks complete.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from typing import IO, Any


class StorageError(RuntimeError):
    """A storage operation failed; the message names the URI."""


class ObjectStore(ABC):
    """A flat key → bytes store rooted at one URI."""

    def __init__(self, root_uri: str) -> None:
        self.root_uri = root_uri.rstrip("/")

    def uri(self, key: str = "") -> str:
        """The full URI of ``key`` (the root itself for an empty key)."""
        key = _clean_key(key)
        return f"{self.root_uri}/{key}" if key else self.root_uri

    def child(self, prefix: str) -> ObjectStore:
        """A store of the same kind rooted at ``prefix`` inside this one."""
        from autolearn.storage import open_store

        return open_store(self.uri(prefix))

    @abstractmethod
    def put_bytes(self, key: str, data: bytes) -> str:
        """Write ``data`` atomically; returns the object's URI."""

    @abstractmethod
    def get_bytes(self, key: str) -> bytes:
        """Read the whole object; a missing key raises ``FileNotFoundError``."""

    @abstractmethod
    def open(self, key: str) -> IO[bytes]:
        """A binary read stream for ``key``."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def list(self, prefix: str = "") -> list[str]:
        """Keys under ``prefix`` (recursive, sorted, relative to the root)."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove one object or everything under a prefix; missing is not an error."""

    def put_file(self, key: str, path: str) -> str:
        with open(path, "rb") as fh:
            return self.put_bytes(key, fh.read())

    def put_json(self, key: str, obj: Any) -> str:
        return self.put_bytes(key, json.dumps(obj, indent=2, sort_keys=True).encode())

    def get_json(self, key: str) -> Any:
        return json.loads(self.get_bytes(key))


def _clean_key(key: str) -> str:
    """Normalise a key and refuse ones that would escape the root."""
    parts = [p for p in key.replace("\\", "/").split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise StorageError(f"object key {key!r} may not contain '..'")
    return "/".join(parts)
