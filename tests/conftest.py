"""Shared fixtures for the whole test suite."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest_plugins = [
    "service_fixtures",
    "app_fixtures",
    "model_fixtures",
    "billing_support",
]  # PostgreSQL, S3 and Ray servers (tests/ is on sys.path)

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
    # The backbone comparison of classes costs seconds per import; tests that need it
    # turn it back on.
    monkeypatch.setenv("AUTOLEARN_IMPORT_HEALTH_EMBEDDINGS", "0")
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


PALETTE = [(220, 40, 40), (40, 200, 60), (40, 70, 220), (230, 210, 40), (200, 40, 210)]


def write_learnable_folder(
    root: Path, classes: dict[str, int], seed: int = 0, size: tuple[int, int] = (32, 32)
) -> Path:
    """Class folders whose images a tiny model can tell apart: each class has its own
    colour, with noise so that no two images are the same."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    for c, (cls, n) in enumerate(sorted(classes.items())):
        base = np.array(PALETTE[c % len(PALETTE)], dtype=np.int16)
        for i in range(n):
            noise = rng.integers(-40, 41, size=(size[1], size[0], 3))
            pixels = np.clip(base + noise, 0, 255).astype(np.uint8)
            (root / cls).mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels).save(root / cls / f"{i}.png")
    return root


@pytest.fixture
def make_learnable_folder() -> Callable[..., Path]:
    """``make_learnable_folder(root, {"red": 20, "green": 20}) -> root``."""
    return write_learnable_folder


@pytest.fixture(name="tiny_spec")
def tiny_spec_fixture() -> Callable[..., dict[str, object]]:
    """``tiny_spec(**model_section) -> TaskSpec dict`` for the test_tiny model."""
    return tiny_spec


def tiny_spec(**model: object) -> dict[str, object]:
    """A TaskSpec dict for the ``test_tiny`` model with fixed small hyper-parameters."""
    hp = {"epochs": 3, "lr": 0.01, "batch_size": 8, "warmup": 0}
    hp.update(model.pop("hyperparams", {}))  # type: ignore[call-overload]
    return {
        "basic": {"name": "tiny"},
        "data": {"source": {"type": "dataset", "dataset": "colours"}},
        "model": {"pretrained": "test_tiny", "max_duration": 600, "hyperparams": hp, **model},
    }
