"""docs/api.md lists the routes the app serves, no more and no fewer, and every error
code the service exceptions map to: a route or code added without its line fails here."""

from __future__ import annotations

import re
from pathlib import Path

from autolearn.api import errors
from autolearn.api.app import create_app

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
ROUTE_ROW = re.compile(r"^\| (GET|POST|PUT|PATCH|DELETE) \| `([^`]+)` \|", re.MULTILINE)
CODE_ROW = re.compile(r"^\| \d{3} \| `([a-z_]+)` \|", re.MULTILINE)


def test_every_route_of_the_app_is_documented_and_nothing_else() -> None:
    served = {
        (method.upper(), path)
        for path, operations in create_app().openapi()["paths"].items()
        for method in operations
    }
    documented = set(ROUTE_ROW.findall(DOC.read_text()))
    assert documented == served, {
        "undocumented": sorted(served - documented),
        "not served": sorted(documented - served),
    }


def test_every_mapped_error_code_is_documented_with_its_status() -> None:
    text = DOC.read_text()
    assert {code for _, _, code in errors._MAPPING} <= set(CODE_ROW.findall(text))
    for _, status, code in errors._MAPPING:
        assert f"| {status} | `{code}` |" in text, code
