"""Shared fixtures for the whole test suite."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Run from a plain checkout too: use src/ when the package is not installed.
if importlib.util.find_spec("autolearn") is None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def _clear_caches() -> None:
    from autolearn.db.session import get_engine
    from autolearn.settings import get_settings

    get_settings.cache_clear()
    get_engine.cache_clear()


@pytest.fixture
def autolearn_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``AUTOLEARN_HOME`` set to this test's ``tmp_path`` (fresh SQLite db, local store).

    Database and storage URLs from the environment are dropped so that everything a
    test writes lands in its own folder. Yields the home folder (``tmp_path``).
    """
    home = tmp_path
    monkeypatch.setenv("AUTOLEARN_HOME", str(home))
    monkeypatch.delenv("AUTOLEARN_DATABASE_URL", raising=False)
    monkeypatch.delenv("AUTOLEARN_STORAGE_URL", raising=False)
    _clear_caches()
    yield home
    _clear_caches()


def write_image(
    path: Path, seed: int = 0, size: tuple[int, int] = (16, 16), mode: str = "RGB"
) -> Path:
    """A small noisy image (unique bytes per ``seed``) saved by its extension."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
    img = Image.fromarray(pixels)
    if mode != "RGB":
        img = img.convert(mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


def write_imagefolder(
    root: Path,
    classes: dict[str, int],
    ext: str = ".png",
    seed: int = 0,
    size: tuple[int, int] = (16, 16),
) -> Path:
    """``root/<class>/<i><ext>`` with ``classes[class]`` images each; returns ``root``.

    Every image differs (and differs between calls with another ``seed``).
    """
    k = 0
    for cls, n in sorted(classes.items()):
        for i in range(n):
            write_image(root / cls / f"{i}{ext}", seed=seed * 100_003 + k, size=size)
            k += 1
    root.mkdir(parents=True, exist_ok=True)
    return root


@pytest.fixture
def make_image() -> Callable[..., Path]:
    """``make_image(path, seed=0, size=(16, 16), mode="RGB") -> path``."""
    return write_image


@pytest.fixture
def make_imagefolder() -> Callable[..., Path]:
    """``make_imagefolder(root, {"cat": 3, "dog": 3}, ext=".png", seed=0) -> root``."""
    return write_imagefolder
