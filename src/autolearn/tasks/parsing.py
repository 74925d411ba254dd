"""Task forms from outside: a dict (REST body, CLI flags, a copy's merged form) or a
YAML task file, validated as a ``TaskSpec``. Every error names the file or the field, so
the user knows what to fix."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from autolearn.tasks.errors import TaskError
from autolearn.tasks.spec import TaskSpec, format_validation_error


def parse_spec(data: dict[str, Any], source: str = "task spec") -> TaskSpec:
    """Validate a dict as a TaskSpec; errors list every bad field and what is allowed."""
    try:
        return TaskSpec.model_validate(data)
    except ValidationError as exc:
        raise TaskError(f"{source} is invalid:\n{format_validation_error(exc)}") from None


def load_spec_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML (or JSON) task file into a dict, naming the file on any problem."""
    p = Path(path)
    if not p.is_file():
        raise TaskError(f"task file {p} does not exist")
    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError as exc:
        raise TaskError(f"task file {p} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise TaskError(f"task file {p} must hold a mapping with sections basic, data, model, ...")
    return data


def merge_spec(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` merged in, section by section. A mapping whose
    ``type`` changes (a data source going from a dataset to a sample) replaces the old
    one whole, since the old fields would not fit the new type."""
    out = dict(base)
    for key, value in overrides.items():
        old = out.get(key)
        if isinstance(old, dict) and isinstance(value, dict) and not _retyped(old, value):
            out[key] = merge_spec(old, value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _retyped(old: dict[str, Any], new: dict[str, Any]) -> bool:
    return "type" in new and new["type"] != old.get("type")
