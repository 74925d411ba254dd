"""``serving.allocator.tune``: the glibc thresholds are set once per process, with the
values that keep activations off fresh mmap pages, by every runtime; a C library without
``mallopt`` is left alone. (The speed it buys is measured in bench/optimize.py, not here.)"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from autolearn.serving import allocator


class FakeLibc:
    def __init__(self, answer: int = 1) -> None:
        self.calls: list[tuple[int, int]] = []
        self.answer = answer

    def mallopt(self, option: int, value: int) -> int:
        self.calls.append((option, value))
        return self.answer


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(allocator, "_done", [])


def test_both_thresholds_are_set_once(monkeypatch: pytest.MonkeyPatch) -> None:
    libc = FakeLibc()
    monkeypatch.setattr(allocator, "_libc", lambda: libc)
    assert allocator.tune() is True
    assert allocator.tune() is True
    expected = [(allocator.M_MMAP_THRESHOLD, 256 << 20), (allocator.M_TRIM_THRESHOLD, 256 << 20)]
    assert libc.calls == expected


@pytest.mark.parametrize("libc", [None, FakeLibc(answer=0)])
def test_without_a_willing_mallopt_nothing_changes(
    monkeypatch: pytest.MonkeyPatch, libc: Any
) -> None:
    monkeypatch.setattr(allocator, "_libc", lambda: libc)
    assert allocator.tune() is False


def test_glibc_takes_them_in_a_fresh_process() -> None:
    code = "from autolearn.serving.allocator import tune; print(tune())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    if sys.platform.startswith("linux"):
        assert out.stdout.strip() == "True"


def test_every_runtime_tunes(monkeypatch: pytest.MonkeyPatch) -> None:
    from autolearn.serving.predictor import BasePredictor

    seen: list[bool] = []
    monkeypatch.setattr(allocator, "tune", lambda: seen.append(True) or True)
    meta = {"scenario": "classification", "classes": ["a"], "input_size": 32}
    BasePredictor({**meta, "mean": [0.5] * 3, "std": [0.5] * 3})
    assert seen == [True]
