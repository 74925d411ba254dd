"""Built-in sample datasets, built on demand from data that ships with a package.

A ``SampleSpec``'s ``build(dest)`` writes an importable folder (ImageFolder for
classification) under ``dest`` and returns its path; ``service.ensure_sample``
imports it once as the dataset ``sample-<name>``. Builders must be deterministic
(same bytes on every run) so that the content hash is stable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from autolearn.registry import Registry


@dataclass(frozen=True)
class SampleSpec:
    name: str
    description: str
    scenario: str
    build: Callable[[Path], Path]


SAMPLES: Registry[SampleSpec] = Registry("sample dataset")


def _register_builtin() -> None:
    from autolearn.datasets.samples import digits, tableware

    SAMPLES.register(digits.SPEC.name, digits.SPEC)
    SAMPLES.register(tableware.SPEC.name, tableware.SPEC)


_register_builtin()

__all__ = ["SAMPLES", "SampleSpec"]
