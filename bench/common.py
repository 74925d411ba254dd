"""Helpers shared by the benchmarks: a throw-away AUTOLEARN_HOME, machine facts, JSON out.

Benchmarks run the platform the way a user does (import a dataset, create a task,
run the worker), so each needs its own home folder with a fresh SQLite database and
object store; the settings and engine caches must be cleared around it or the
process would keep writing into the previous home.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
_HOME_VARS = ("AUTOLEARN_HOME", "AUTOLEARN_DATABASE_URL", "AUTOLEARN_STORAGE_URL")


def _clear_autolearn_caches() -> None:
    from autolearn.db.session import get_engine
    from autolearn.settings import get_settings

    get_settings.cache_clear()
    get_engine.cache_clear()


@contextmanager
def temporary_home(keep: bool = False) -> Iterator[Path]:
    """``AUTOLEARN_HOME`` pointed at a new temporary folder (SQLite + local store) for the block.

    Database and storage URLs from the environment are dropped so nothing the benchmark
    writes lands in a real installation. ``keep`` leaves the folder for inspection.
    """
    saved = {k: os.environ.get(k) for k in _HOME_VARS}
    home = Path(tempfile.mkdtemp(prefix="autolearn-bench-"))
    os.environ["AUTOLEARN_HOME"] = str(home)
    os.environ.pop("AUTOLEARN_DATABASE_URL", None)
    os.environ.pop("AUTOLEARN_STORAGE_URL", None)
    _clear_autolearn_caches()
    try:
        yield home
    finally:
        _clear_autolearn_caches()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if not keep:
            shutil.rmtree(home, ignore_errors=True)


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=5,
    ).stdout.strip()
    return out.stdout.strip() + ("-dirty" if dirty else "")


def load_average() -> list[float] | None:
    """1/5/15-minute load: a shared machine's numbers are only comparable with it."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def machine_info() -> dict[str, Any]:
    """What a reader needs to judge the numbers: CPU, threads, library versions, date."""
    import torch

    return {
        "date_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.is_available(),
        "torch": torch.__version__,
        "torchvision": _version("torchvision"),
        "timm": _version("timm"),
        "autolearn": _version("autolearn"),
        "git_commit": _git_commit(),
        "load_average_start": load_average(),
    }


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def write_json(path: Path, data: Any) -> None:
    """Write through a temporary file so an interrupted run never leaves half a JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    tmp.replace(path)
