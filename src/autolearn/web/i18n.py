"""Every string the console shows, in one folder per language (``strings/<lang>/*.json``,
one file per area of the console, merged), so a translation (the seed's users read
Chinese) is one new folder. Pages get ``t(key)``; the browser gets the same table as JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

STRINGS = Path(__file__).with_name("strings")
DEFAULT_LANG = "en"


def _table(lang: str) -> dict[str, str]:
    table: dict[str, str] = {}
    for path in sorted((STRINGS / lang).glob("*.json")):
        for key, value in json.loads(path.read_text(encoding="utf-8")).items():
            if key in table:
                raise ValueError(f"string {key!r} is defined twice ({path.name})")
            table[key] = value
    return table


@lru_cache(maxsize=8)
def strings(lang: str = DEFAULT_LANG) -> dict[str, str]:
    """The table for ``lang``, falling back to English key by key."""
    base = _table(DEFAULT_LANG)
    if lang != DEFAULT_LANG:
        base.update(_table(lang))
    return base


def translator(lang: str = DEFAULT_LANG) -> Callable[[str], str]:
    table = strings(lang)

    def t(key: str) -> str:
        return table.get(key, key)

    return t
