"""The file:// object store, through the public factory."""

from __future__ import annotations

from pathlib import Path

import pytest

from autolearn.registry import Registry, RegistryError
from autolearn.settings import get_settings
from autolearn.storage import StorageError, default_store, open_store


def test_put_get_list_delete(tmp_path: Path) -> None:
    store = open_store(tmp_path.as_uri())
    uri = store.put_bytes("a/b/c.bin", b"hello")
    assert uri == f"{tmp_path.as_uri()}/a/b/c.bin"
    assert store.get_bytes("a/b/c.bin") == b"hello"
    store.put_json("a/meta.json", {"x": 1})
    assert store.get_json("a/meta.json") == {"x": 1}
    assert store.list("a") == ["a/b/c.bin", "a/meta.json"]
    with store.open("a/b/c.bin") as fh:
        assert fh.read() == b"hello"
    store.delete("a/b")
    assert store.list() == ["a/meta.json"]
    assert not store.exists("a/b/c.bin")
    with pytest.raises(FileNotFoundError):
        store.get_bytes("a/b/c.bin")


def test_overwrite_is_atomic_and_leaves_no_temp_files(tmp_path: Path) -> None:
    store = open_store(tmp_path.as_uri())
    for i in range(3):
        store.put_bytes("model.pt", bytes([i]) * 1000)
    assert store.get_bytes("model.pt") == bytes([2]) * 1000
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]


def test_child_store_and_put_file(tmp_path: Path) -> None:
    src = tmp_path / "src.txt"
    src.write_text("data")
    child = open_store(tmp_path.as_uri()).child("tasks/7")
    child.put_file("copy.txt", str(src))
    assert (tmp_path / "tasks" / "7" / "copy.txt").read_text() == "data"


def test_keys_cannot_escape_the_root(tmp_path: Path) -> None:
    store = open_store((tmp_path / "root").as_uri())
    with pytest.raises(StorageError, match=r"\.\."):
        store.put_bytes("../outside", b"x")


def test_uri_errors_say_what_is_known() -> None:
    with pytest.raises(StorageError, match="no scheme"):
        open_store("/plain/path")
    with pytest.raises(StorageError, match="known schemes: file"):
        open_store("gs://bucket/x")


def test_default_store_lives_under_home(autolearn_home: Path) -> None:
    settings = get_settings()
    assert settings.database_url == f"sqlite:///{autolearn_home / 'autolearn.db'}"
    assert default_store().uri() == (autolearn_home / "store").as_uri()


def test_registry_refuses_duplicates_and_lists_names() -> None:
    reg: Registry[int] = Registry("thing")
    reg.register("a", 1)
    with pytest.raises(RegistryError, match="already registered"):
        reg.register("a", 2)
    reg.register("a", 3, override=True)
    assert reg.get("a") == 3
    with pytest.raises(RegistryError, match="unknown thing 'b'; known: a"):
        reg.get("b")
