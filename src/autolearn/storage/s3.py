"""``s3://bucket/prefix`` object store for any S3-compatible server (AWS, SeaweedFS, MinIO, …).

The endpoint, keys and region come from the settings (``AUTOLEARN_S3_ENDPOINT_URL``,
``AUTOLEARN_S3_ACCESS_KEY_ID``, ``AUTOLEARN_S3_SECRET_ACCESS_KEY``,
``AUTOLEARN_S3_REGION``); empty keys leave the credentials to boto3's default chain
(environment, ``~/.aws``, instance roles). Requests use path-style addressing, which
every S3-compatible server understands.

Writes need no temp-name-and-rename: S3 makes an object visible only when its PUT
(or the ``CompleteMultipartUpload`` of a multipart upload) succeeds, so a reader sees
the whole old object or the whole new one and a crashed upload leaves nothing that
looks whole. Objects above ``S3Store.multipart_threshold`` bytes go up in parts.

boto3 is imported only when an ``s3://`` store is opened, so ``import autolearn``
stays light.
"""

from __future__ import annotations

import functools
import io
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any, ClassVar

from autolearn.storage.base import ObjectStore, StorageError, _clean_key

MiB = 1024 * 1024
_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
_DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "403",
        "Forbidden",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidToken",
        "ExpiredToken",
        "InvalidSecurity",
    }
)
_KEYS_HINT = (
    "check AUTOLEARN_S3_ACCESS_KEY_ID and AUTOLEARN_S3_SECRET_ACCESS_KEY "
    "(empty: boto3's default credential chain)"
)


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/a/b`` → ``("bucket", "a/b")``; keys are taken literally (no ``%``
    decoding, ``#`` and ``?`` are part of the key)."""
    if not uri.startswith("s3://"):
        raise StorageError(f"not an s3:// URI: {uri!r}")
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    if not bucket:
        raise StorageError(f"storage URI {uri!r} names no bucket; write it as s3://bucket/prefix")
    return bucket, _clean_key(prefix)


def _settings_tuple() -> tuple[str, str, str, str]:
    from autolearn.settings import get_settings

    s = get_settings()
    if bool(s.s3_access_key_id) != bool(s.s3_secret_access_key):
        raise StorageError(
            "only one of AUTOLEARN_S3_ACCESS_KEY_ID and AUTOLEARN_S3_SECRET_ACCESS_KEY is "
            "set: set both, or neither to use boto3's default credential chain"
        )
    return s.s3_endpoint_url, s.s3_access_key_id, s.s3_secret_access_key, s.s3_region


@functools.lru_cache(maxsize=16)
def _client(endpoint: str, key_id: str, secret: str, region: str, pid: int) -> Any:
    """One boto3 client per configuration and process (clients are thread-safe, but
    their connection pools must not cross a fork)."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError:  # pragma: no cover - the s3 extra is missing
        raise StorageError(
            "s3:// storage needs boto3: pip install 'autolearn[s3]' (or pip install boto3)"
        ) from None
    config = Config(
        s3={"addressing_style": "path"},
        region_name=region or None,
        connect_timeout=5,
        read_timeout=60,
        retries={"mode": "standard", "max_attempts": 3},
        # Other S3 servers may not know the newer default checksums; send them only
        # where the API requires one.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    kwargs: dict[str, Any] = {"config": config}
    if endpoint:
        kwargs["endpoint_url"] = endpoint
    if key_id:
        kwargs["aws_access_key_id"] = key_id
        kwargs["aws_secret_access_key"] = secret
    return boto3.session.Session().client("s3", **kwargs)


_VERIFIED_BUCKETS: set[tuple[str, str]] = set()


class S3Store(ObjectStore):
    """Objects under ``s3://bucket/prefix`` on the configured S3 endpoint."""

    multipart_threshold: ClassVar[int] = 16 * MiB
    """Uploads and downloads larger than this go in parts (tests lower it)."""
    multipart_chunksize: ClassVar[int] = 16 * MiB
    max_concurrency: ClassVar[int] = 4
    spool_bytes: ClassVar[int] = 32 * MiB
    """``open()`` keeps objects up to this size in memory, bigger ones in a temp file."""

    def __init__(self, root_uri: str) -> None:
        super().__init__(root_uri)
        self.bucket, self.prefix = parse_s3_uri(self.root_uri)
        self.root_uri = (
            f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"
        )
        self._config = _settings_tuple()
        self.endpoint = self._config[0] or "the default AWS endpoint"

    def __repr__(self) -> str:
        return f"S3Store({self.root_uri!r}, endpoint={self.endpoint!r})"

    @property
    def client(self) -> Any:
        """The boto3 S3 client this store uses."""
        return _client(*self._config, os.getpid())

    def transfer_config(self) -> Any:
        from boto3.s3.transfer import TransferConfig

        return TransferConfig(
            multipart_threshold=self.multipart_threshold,
            multipart_chunksize=self.multipart_chunksize,
            max_concurrency=self.max_concurrency,
        )

    # keys -------------------------------------------------------------------------

    def object_key(self, key: str) -> str:
        """The S3 object key (with the store's prefix) of ``key``; it must be non-empty."""
        clean = _clean_key(key)
        if not clean:
            raise StorageError(f"an object key is required under {self.root_uri}")
        return f"{self.prefix}/{clean}" if self.prefix else clean

    def _relative(self, full_key: str) -> str:
        return full_key[len(self.prefix) + 1 :] if self.prefix else full_key

    # reads ------------------------------------------------------------------------

    def get_bytes(self, key: str) -> bytes:
        full = self.object_key(key)
        with self._errors("read", key):
            response = self.client.get_object(Bucket=self.bucket, Key=full)
            with response["Body"] as body:
                data: bytes = body.read()
        return data

    def open(self, key: str) -> IO[bytes]:
        """A seekable binary stream of the whole object (torch.load and PIL need seeks).

        The object is downloaded (in parallel ranges when large) into memory, or into a
        temp file above ``spool_bytes``; close the stream to free it.
        """
        full = self.object_key(key)
        buffer: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=self.spool_bytes)  # noqa: SIM115
        try:
            with self._errors("read", key, head=True):
                self.client.download_fileobj(
                    self.bucket, full, buffer, Config=self.transfer_config()
                )
        except BaseException:
            buffer.close()
            raise
        buffer.seek(0)
        return buffer

    def exists(self, key: str) -> bool:
        full = self.object_key(key)
        try:
            with self._errors("check", key, head=True):
                self.client.head_object(Bucket=self.bucket, Key=full)
        except FileNotFoundError:
            return False
        return True

    def list(self, prefix: str = "") -> list[str]:
        clean = _clean_key(prefix)
        keys = []
        for full in self._iter_keys(clean):
            rel = self._relative(full)
            if not clean or rel == clean or rel.startswith(clean + "/"):
                keys.append(rel)
        return sorted(keys)

    def _iter_keys(self, clean_prefix: str) -> Iterator[str]:
        """Full object keys under ``clean_prefix`` (a plain string prefix)."""
        if clean_prefix:
            start = self.object_key(clean_prefix)
        else:
            start = f"{self.prefix}/" if self.prefix else ""
        with self._errors("list", clean_prefix):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=start
            )
            for page in pages:
                for obj in page.get("Contents", []):
                    if not obj["Key"].endswith("/"):  # folder markers are not objects
                        yield obj["Key"]

    # writes -----------------------------------------------------------------------

    def put_bytes(self, key: str, data: bytes) -> str:
        full = self.object_key(key)
        with self._errors("write", key):
            self.client.upload_fileobj(
                io.BytesIO(data), self.bucket, full, Config=self.transfer_config()
            )
        return self.uri(key)

    def put_file(self, key: str, path: str) -> str:
        """Upload a local file, in parallel parts when it is large."""
        full = self.object_key(key)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"cannot upload {path}: no such file")
        with self._errors("write", key):
            self.client.upload_file(
                os.fspath(path), self.bucket, full, Config=self.transfer_config()
            )
        return self.uri(key)

    def delete(self, key: str) -> None:
        """Remove the object ``key`` and everything under ``key/`` (all of the store for
        an empty key); missing objects are not an error."""
        clean = _clean_key(key)
        if clean:
            full = self.object_key(clean)
            targets = [k for k in self._iter_keys(clean) if k == full or k.startswith(full + "/")]
        else:
            targets = list(self._iter_keys(""))
        with self._errors("delete", key):
            for i in range(0, len(targets), 1000):
                batch = [{"Key": k} for k in targets[i : i + 1000]]
                response = self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
                )
                errors = response.get("Errors") or []
                if errors:
                    first = errors[0]
                    raise StorageError(
                        f"could not delete {len(errors)} object(s) under {self.uri(key)}: "
                        f"{first.get('Key')}: {first.get('Code')} {first.get('Message')}"
                    )

    # errors -----------------------------------------------------------------------

    @contextmanager
    def _errors(self, action: str, key: str, head: bool = False) -> Iterator[None]:
        """Turn boto errors into ``FileNotFoundError`` / ``StorageError`` that say what
        to fix. ``head``: a 404 may also mean a missing bucket (HEAD has no body)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except ClientError as exc:
            self._raise_client_error(exc, action, key, head)
        except Exception as exc:
            cause = _client_error_in(exc)
            if cause is not None:
                self._raise_client_error(cause, action, key, head)
            if isinstance(exc, BotoCoreError):
                raise self._botocore_error(exc, action, key) from exc
            raise

    def _raise_client_error(self, exc: Any, action: str, key: str, head: bool) -> None:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        uri = self.uri(key)
        if code == "NoSuchBucket":
            raise self._no_bucket_error() from None
        if code in _MISSING_CODES:
            if head:
                self._check_bucket()
            raise FileNotFoundError(f"no object at {uri}") from None
        if code in _DENIED_CODES:
            raise StorageError(
                f"the S3 server at {self.endpoint} refused to {action} {uri} ({code}): "
                f"{_KEYS_HINT}, and that they may use bucket {self.bucket!r}"
            ) from None
        message = error.get("Message") or str(exc)
        raise StorageError(f"S3 could not {action} {uri}: {code}: {message}") from exc

    def _botocore_error(self, exc: Exception, action: str, key: str) -> StorageError:
        from botocore.exceptions import (
            ConnectionError as BotoConnectionError,
        )
        from botocore.exceptions import (
            HTTPClientError,
            NoCredentialsError,
            PartialCredentialsError,
        )

        uri = self.uri(key)
        if isinstance(exc, NoCredentialsError | PartialCredentialsError):
            return StorageError(
                f"no S3 credentials to {action} {uri}: set AUTOLEARN_S3_ACCESS_KEY_ID and "
                "AUTOLEARN_S3_SECRET_ACCESS_KEY (or configure boto3's credential chain)"
            )
        if isinstance(exc, BotoConnectionError | HTTPClientError):
            return StorageError(
                f"cannot reach the S3 endpoint {self.endpoint} to {action} {uri}: check "
                f"AUTOLEARN_S3_ENDPOINT_URL and that the server is running ({exc})"
            )
        return StorageError(f"S3 could not {action} {uri}: {exc}")

    def _no_bucket_error(self) -> StorageError:
        return StorageError(
            f"bucket {self.bucket!r} does not exist on the S3 server at {self.endpoint}: "
            f"create it, or fix the bucket in {self.root_uri} (or AUTOLEARN_S3_ENDPOINT_URL "
            "if this is the wrong server)"
        )

    def _check_bucket(self) -> None:
        """Raise ``StorageError`` when the bucket is missing or forbidden (cached when OK)."""
        marker = (self._config[0], self.bucket)
        if marker in _VERIFIED_BUCKETS:
            return
        try:
            with self._errors("use bucket", ""):
                self.client.head_bucket(Bucket=self.bucket)
        except FileNotFoundError:
            raise self._no_bucket_error() from None
        _VERIFIED_BUCKETS.add(marker)


def _client_error_in(exc: BaseException) -> Any:
    """The botocore ``ClientError`` behind a boto3 transfer error, if any."""
    from botocore.exceptions import ClientError

    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 5:
        if isinstance(current, ClientError):
            return current
        current = current.__cause__ or current.__context__
        seen += 1
    return None
