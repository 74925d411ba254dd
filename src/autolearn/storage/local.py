"""``file://`` object store: plain files, written to a temp name then renamed."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import IO
from urllib.parse import unquote, urlparse

from autolearn.storage.base import ObjectStore, _clean_key


def path_from_file_uri(uri: str) -> Path:
    """``file:///a/b`` → ``/a/b`` (percent-decoding included)."""
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        raise ValueError(f"not a file:// URI: {uri!r}")
    return Path(unquote(parsed.path))


class LocalStore(ObjectStore):
    """Objects as files under a local folder."""

    def __init__(self, root_uri: str) -> None:
        super().__init__(root_uri)
        self.root = path_from_file_uri(self.root_uri)

    def path(self, key: str) -> Path:
        """Local path of ``key``; lets torch/PIL read without a copy."""
        return self.root / _clean_key(key)

    def put_bytes(self, key: str, data: bytes) -> str:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return self.uri(key)

    def put_file(self, key: str, path: str) -> str:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        os.close(fd)
        try:
            shutil.copyfile(path, tmp)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return self.uri(key)

    def get_bytes(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def open(self, key: str) -> IO[bytes]:
        return self.path(key).open("rb")

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def list(self, prefix: str = "") -> list[str]:
        base = self.path(prefix)
        if base.is_file():
            return [_clean_key(prefix)]
        if not base.is_dir():
            return []
        keys = [
            p.relative_to(self.root).as_posix()
            for p in base.rglob("*")
            if p.is_file() and not p.name.endswith(".tmp")
        ]
        return sorted(keys)

    def delete(self, key: str) -> None:
        target = self.path(key)
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)
