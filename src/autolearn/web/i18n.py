"""Every string the console shows, in one place per language (``strings/<lang>.json``), so
a translation (the seed's users read Chinese) is one new file. Pages get ``t(key)``; the
browser gets the same table as JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

STRINGS = Path(__file__).with_name("strings")
DEFAULT_LANG = "en"


@lru_cache(maxsize=8)
def strings(lang: str = DEFAULT_LANG) -> dict[str, str]:
    """The table for ``lang``, falling back to English key by key."""
    base = json.loads((STRINGS / f"{DEFAULT_LANG}.json").read_text(encoding="utf-8"))
    path = STRINGS / f"{lang}.json"
    if lang != DEFAULT_LANG and path.is_file():
        base.update(json.loads(path.read_text(encoding="utf-8")))
    return base


def translator(lang: str = DEFAULT_LANG) -> Callable[[str], str]:
    table = strings(lang)

    def t(key: str) -> str:
        return table.get(key, key)

    return t
