"""The s3:// object store against a real SeaweedFS server, through the public factory."""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from autolearn.settings import get_settings
from autolearn.storage import StorageError, open_store
from s3_server import S3Server
from service_proc import free_ports

pytestmark = pytest.mark.s3

MiB = 1024 * 1024


def test_put_get_list_delete(s3_uri: str) -> None:
    store = open_store(s3_uri)
    assert type(store).__name__ == "S3Store"
    uri = store.put_bytes("a/b/c.bin", b"hello")
    assert uri == f"{s3_uri}/a/b/c.bin"
    assert store.get_bytes("a/b/c.bin") == b"hello"
    store.put_json("a/meta.json", {"x": 1})
    assert store.get_json("a/meta.json") == {"x": 1}
    store.put_bytes("a/bc.txt", b"not under a/b")
    assert store.list() == ["a/b/c.bin", "a/bc.txt", "a/meta.json"]
    assert store.list("a") == ["a/b/c.bin", "a/bc.txt", "a/meta.json"]
    assert store.list("a/b") == ["a/b/c.bin"]
    assert store.list("a/b/c.bin") == ["a/b/c.bin"]
    assert store.list("nothing") == []
    assert store.exists("a/b/c.bin")
    assert not store.exists("a/b")  # a "folder" is not an object
    with store.open("a/b/c.bin") as fh:
        assert fh.read() == b"hello"
        fh.seek(1)
        assert fh.read(3) == b"ell"
    store.delete("a/b")
    assert store.list() == ["a/bc.txt", "a/meta.json"]
    assert not store.exists("a/b/c.bin")
    store.delete("a/meta.json")
    store.delete("never/was")  # missing is not an error
    assert store.list() == ["a/bc.txt"]
    store.put_bytes("a/bc.txt", b"v2")  # overwrite
    assert store.get_bytes("a/bc.txt") == b"v2"
    store.delete("")
    assert store.list() == []


def test_missing_key_raises_file_not_found_naming_the_uri(s3_uri: str) -> None:
    store = open_store(s3_uri)
    with pytest.raises(FileNotFoundError, match=re.escape(f"{s3_uri}/missing.bin")):
        store.get_bytes("missing.bin")
    with pytest.raises(FileNotFoundError, match=r"missing\.bin"):
        store.open("missing.bin")
    assert not store.exists("missing.bin")


def test_child_store_and_put_file(s3_uri: str, tmp_path: Path) -> None:
    src = tmp_path / "src.txt"
    src.write_text("data")
    root = open_store(s3_uri)
    child = root.child("tasks/7")
    assert child.uri() == f"{s3_uri}/tasks/7"
    assert child.put_file("copy.txt", str(src)) == f"{s3_uri}/tasks/7/copy.txt"
    assert root.get_bytes("tasks/7/copy.txt") == b"data"
    assert child.list() == ["copy.txt"]
    assert root.list() == ["tasks/7/copy.txt"]
    assert open_store(f"{s3_uri}/tasks/").list() == ["7/copy.txt"]  # trailing slash
    with pytest.raises(StorageError, match=r"\.\."):
        child.put_bytes("../escape", b"x")


def test_bucket_root_store(s3_settings: S3Server) -> None:
    client = s3_settings.client()
    client.create_bucket(Bucket="autolearn-rootstore")
    store = open_store("s3://autolearn-rootstore")
    store.put_bytes("k1", b"1")
    store.put_bytes("d/k2", b"2")
    assert store.list() == ["d/k2", "k1"]
    assert store.uri("d/k2") == "s3://autolearn-rootstore/d/k2"
    store.delete("")
    assert store.list() == []


def test_large_object_goes_up_in_parts(
    s3_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from autolearn.storage.s3 import S3Store

    monkeypatch.setattr(S3Store, "multipart_threshold", 5 * MiB)
    monkeypatch.setattr(S3Store, "multipart_chunksize", 5 * MiB)
    data = os.urandom(20 * MiB + 123)
    store = open_store(s3_uri)
    store.put_bytes("big.bin", data)
    path = tmp_path / "big-file.bin"
    path.write_bytes(data[::-1])
    store.put_file("big-file.bin", str(path))

    client = S3Store(s3_uri).client  # the client the store itself uses
    bucket, prefix = s3_uri[len("s3://") :].split("/", 1)
    for key in ("big.bin", "big-file.bin"):
        head = client.head_object(Bucket=bucket, Key=f"{prefix}/{key}")
        assert head["ContentLength"] == len(data)
        assert head["ETag"].strip('"').endswith("-5"), head["ETag"]  # 5 parts of 5 MiB
    assert store.get_bytes("big.bin") == data
    with store.open("big-file.bin") as fh:
        digest = hashlib.sha256(fh.read()).hexdigest()
    assert digest == hashlib.sha256(data[::-1]).hexdigest()


def test_torch_and_pil_read_through_open(s3_uri: str) -> None:
    import torch
    from PIL import Image

    store = open_store(s3_uri)
    buf = io.BytesIO()
    torch.save({"w": torch.arange(4)}, buf)
    store.put_bytes("m.pt", buf.getvalue())
    with store.open("m.pt") as fh:
        assert torch.load(fh, weights_only=True)["w"].tolist() == [0, 1, 2, 3]
    png = io.BytesIO()
    Image.new("RGB", (3, 2), (10, 20, 30)).save(png, format="PNG")
    store.put_bytes("i.png", png.getvalue())
    with store.open("i.png") as fh, Image.open(fh) as img:
        assert img.size == (3, 2)


def test_unknown_bucket_is_a_storage_error_that_says_what_to_fix(s3_settings: S3Server) -> None:
    store = open_store("s3://no-such-bucket-here/prefix")
    for op in (
        lambda: store.get_bytes("k"),
        lambda: store.put_bytes("k", b"x"),
        lambda: store.list(),
        lambda: store.exists("k"),
        lambda: store.open("k"),
        lambda: store.delete("k"),
    ):
        with pytest.raises(StorageError, match="bucket 'no-such-bucket-here' does not exist"):
            op()


def test_bad_credentials_name_the_settings(
    s3_settings: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTOLEARN_S3_SECRET_ACCESS_KEY", "wrong-secret")
    get_settings.cache_clear()
    store = open_store(f"s3://{s3_settings.bucket}/x")
    with pytest.raises(StorageError, match="AUTOLEARN_S3_SECRET_ACCESS_KEY"):
        store.put_bytes("k", b"x")
    with pytest.raises(StorageError, match="AUTOLEARN_S3_ACCESS_KEY_ID"):
        store.get_bytes("k")


def test_unreachable_endpoint_names_the_setting(
    s3_settings: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTOLEARN_S3_ENDPOINT_URL", f"http://127.0.0.1:{free_ports(1)[0]}")
    get_settings.cache_clear()
    store = open_store(f"s3://{s3_settings.bucket}/x")
    with pytest.raises(StorageError, match="AUTOLEARN_S3_ENDPOINT_URL"):
        store.get_bytes("k")


def test_bad_uris_are_refused(s3_settings: S3Server) -> None:
    with pytest.raises(StorageError, match="names no bucket"):
        open_store("s3:///prefix")
    store = open_store(f"s3://{s3_settings.bucket}/p")
    with pytest.raises(StorageError, match="object key is required"):
        store.put_bytes("", b"x")


def test_importing_storage_does_not_import_boto3() -> None:
    code = (
        "import sys, autolearn.storage as s; "
        "assert 's3' in s.SCHEMES; "
        "assert 'boto3' not in sys.modules and 'botocore' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
