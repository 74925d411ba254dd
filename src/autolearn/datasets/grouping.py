"""Group keys from file names, so that a group split keeps near-duplicate shots together.

Two ways to name a group (``group_keys``):

- ``"pattern"``: a regular expression searched in each name; the group key is its first
  capture group (or the whole match when it has none). ``^(\\d{14})_`` groups the shots
  of one timestamp, ``^([^_]+)_`` groups by a prefix.
- ``"runs"``: the expression captures a number (``\\((\\d+)\\)`` for ``photo (1537).jpg``);
  items sorted by that number form runs of consecutive numbers, and a gap larger than
  ``max_gap`` starts a new run. This is how cameras and labelling tools number bursts of
  shots of one scene (the mealtray sample: 10 runs of consecutive file numbers).

Patterns are searched (``re.search``) in the name exactly as given, so pass base names
or paths consistently.
"""

from __future__ import annotations

import re
from typing import Literal

from autolearn.datasets.formats.base import DatasetError

GroupMethod = Literal["pattern", "runs"]
UNMATCHED_PREFIX = "unmatched:"
_NUMBER = re.compile(r"\s*[0-9]+\s*")


class GroupingError(DatasetError):
    """A group pattern that cannot group these names; the message names the pattern and
    the first offending name."""


def group_keys(names: list[str], method: GroupMethod, pattern: str, max_gap: int = 1) -> list[str]:
    """One group key per name (same order as ``names``).

    ``method="pattern"``: the key is the first capture group of ``pattern`` (or the whole
    match). A name the pattern does not match gets a group of its own (key
    ``"unmatched:<index>:<name>"``), so it can never drag other items with it; when no
    name matches at all the pattern is surely wrong and ``GroupingError`` is raised.

    ``method="runs"``: ``pattern`` must capture a whole number in every name. The numbers,
    sorted, form runs in which each number is at most ``max_gap`` above the previous one
    (equal numbers share a run); the key of every item in a run is ``"run-<first number>"``.
    A name without a number raises ``GroupingError`` naming it.

    ``max_gap`` is used by ``"runs"`` only and must be at least 1.
    """
    regex = _compile(pattern)
    if method == "pattern":
        return _pattern_keys(names, regex)
    if method == "runs":
        if max_gap < 1:
            raise GroupingError(f"max_gap must be at least 1 (got {max_gap}); 1 means no gaps")
        return _run_keys(names, regex, max_gap)
    raise GroupingError(f"unknown grouping method {method!r}; use 'pattern' or 'runs'")


def _compile(pattern: str) -> re.Pattern[str]:
    if not pattern:
        raise GroupingError("the group pattern is empty; give a regular expression")
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise GroupingError(
            f"group pattern '{pattern}' is not a valid regular expression: {exc}"
        ) from exc


def _pattern_keys(names: list[str], regex: re.Pattern[str]) -> list[str]:
    keys: list[str] = []
    matched = 0
    for idx, name in enumerate(names):
        m = regex.search(name)
        if m is None:
            keys.append(f"{UNMATCHED_PREFIX}{idx}:{name}")
            continue
        key = m.group(1) if regex.groups else m.group(0)
        if key is None:  # an optional group that did not take part
            key = m.group(0)
        keys.append(key)
        matched += 1
    if names and matched == 0:
        raise GroupingError(
            f"group pattern '{regex.pattern}' matches none of the {len(names)} names "
            f"(first: {names[0]!r}); fix the pattern"
        )
    return keys


def _run_keys(names: list[str], regex: re.Pattern[str], max_gap: int) -> list[str]:
    if regex.groups < 1:
        raise GroupingError(
            f"group pattern '{regex.pattern}' has no capture group; 'runs' needs one that "
            r"captures the file number, e.g. '\((\d+)\)' or '_(\d+)\.jpg$'"
        )
    numbers: list[int] = []
    for name in names:
        m = regex.search(name)
        text = m.group(1) if m is not None else None
        if text is not None and _NUMBER.fullmatch(text):
            numbers.append(int(text))
        else:
            found = "no match" if m is None else f"captured {text!r}"
            raise GroupingError(
                f"group pattern '{regex.pattern}' finds no number in {name!r} ({found}); "
                "'runs' needs a number in every name: fix the pattern or use 'pattern' grouping"
            )
    run_of: dict[int, str] = {}
    previous: int | None = None
    key = ""
    for number in sorted(set(numbers)):
        if previous is None or number - previous > max_gap:
            key = f"run-{number}"
        run_of[number] = key
        previous = number
    return [run_of[n] for n in numbers]


def describe_groups(keys: list[str]) -> dict[str, int]:
    """Summary for reports: number of groups, largest group, and unmatched items."""
    sizes: dict[str, int] = {}
    for key in keys:
        sizes[key] = sizes.get(key, 0) + 1
    return {
        "groups": len(sizes),
        "largest": max(sizes.values(), default=0),
        "unmatched": sum(1 for k in keys if k.startswith(UNMATCHED_PREFIX)),
    }
