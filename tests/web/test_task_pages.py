"""The task pages without a browser: they need a session, the form's schema is TaskSpec's,
and the form's fields are exactly the spec's (a field added to the spec appears in the
form with no change to the page code, because the page code names no field)."""

from __future__ import annotations

import json
import re
import types
import typing
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from app_fixtures import console_session
from autolearn.tasks.spec import DataConfig, ModelConfig, TaskSpec
from autolearn.web import task_pages
from autolearn.web.i18n import strings

WEB = Path(task_pages.__file__).parent
OUR_FILES = [
    WEB / "templates" / "task_new.html",
    WEB / "templates" / "task_train.html",
    WEB / "templates" / "tasks.html",
    WEB / "static" / "js" / "task_form.js",
    WEB / "static" / "js" / "training.js",
    WEB / "static" / "js" / "tasks.js",
    WEB / "static" / "js" / "chart.js",
]


def _model_leaf_paths(model: type[BaseModel], prefix: str = "") -> set[str]:
    """The spec's leaf fields from pydantic's own field table (not from the JSON schema),
    as the form should show them: a union of models is its tag plus each member's fields."""
    out: set[str] = set()
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        annotation = info.annotation
        members = typing.get_args(annotation) if _is_union(annotation) else (annotation,)
        models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
        if len(models) > 1:
            for member in models:
                out |= _model_leaf_paths(member, f"{path}.")
        elif models:
            out |= _model_leaf_paths(models[0], f"{path}.")
        else:
            out.add(path)
    return out


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def test_pages_need_a_session(app: FastAPI, tokens: dict[str, str]) -> None:
    with TestClient(app, follow_redirects=False) as anon:
        for path in ("/console/tasks", "/console/tasks/new?copy=3", "/console/tasks/7"):
            gone = anon.get(path)
            assert gone.status_code == 303, path
            assert gone.headers["location"].startswith("/console/login?next=/console/tasks")


def test_pages_render_for_a_signed_in_user(app: FastAPI, tokens: dict[str, str]) -> None:
    browser = console_session(app)[0]
    new = browser.get("/console/tasks/new", params={"region": "gpu", "copy": 4})
    assert new.status_code == 200
    assert 'id="create-task"' in new.text and 'src="/static/js/task_form.js"' in new.text
    found = re.search(r'data-config="([^"]*)"', new.text)
    assert found
    config = json.loads(unescape(found[1]))
    assert config["schema_url"] == "/console/task-schema.json"
    assert config["prefill"] == {"basic.region": "gpu"} and config["copy"] == 4
    assert "digits" in {o["value"] for o in config["options"]["samples"]}
    assert "auto" in {o["value"] for o in config["options"]["models"]}

    train = browser.get("/console/tasks/7")
    assert train.status_code == 200 and 'data-task-id="7"' in train.text
    for element in ("task-status", "task-epoch", "task-eta", "stop-task", "resume-task"):
        assert f'id="{element}"' in train.text
    for element in ("loss-chart", "metric-chart", "task-logs", "task-evaluation"):
        assert f'id="{element}"' in train.text
    assert 'href="/console/evaluations/7"' in train.text

    listing = browser.get("/console/tasks")
    assert listing.status_code == 200
    for element in ("task-table", "task-search", "task-status-filter", "task-sort"):
        assert f'id="{element}"' in listing.text
    assert 'id="next-page"' in listing.text and 'id="prev-page"' in listing.text
    assert '<option value="SUCCEED">' in listing.text
    assert browser.get("/console/tasks/0").status_code == 422  # ids are positive


def test_region_in_the_address_cannot_break_out_of_the_page(
    app: FastAPI, tokens: dict[str, str]
) -> None:
    page = console_session(app)[0].get(
        "/console/tasks/new", params={"region": '"><script>x()</script>'}
    )
    assert "<script>x()" not in page.text


def test_schema_route_serves_the_task_spec_schema(app: FastAPI) -> None:
    with TestClient(app) as c:
        served = c.get("/console/task-schema.json")
    assert served.status_code == 200
    assert served.json() == TaskSpec.model_json_schema()


def test_form_fields_are_exactly_the_spec_fields(app: FastAPI) -> None:
    with TestClient(app) as c:
        schema = c.get("/console/task-schema.json").json()
    paths = task_pages.form_field_paths(schema)
    assert len(paths) == len(set(paths)), "one input per path"
    assert set(paths) == _model_leaf_paths(TaskSpec)
    # The seed's sections and the fields the issue names are all there.
    for path in (
        "basic.name",
        "data.source.type",
        "data.source.dataset",
        "data.source.sample",
        "data.validation_percent",
        "data.incremental.enabled",
        "data.incremental.base_task",
        "model.pretrained",
        "model.preference",
        "model.expected_accuracy",
        "model.max_duration",
        "model.hyperparams.lr",
        "model.optimization.level",
        "resources.spec",
        "resources.count",
        "resources.charge_type",
    ):
        assert path in paths
    model = schema["$defs"]["ModelConfig"]["properties"]
    assert model["max_duration"]["default"] == 3600  # 1 h, as in the seed
    assert schema["$defs"]["HyperParams"]["properties"]["lr"]["default"] == "auto"


def test_pickers_and_the_copy_name_field_exist_in_the_spec() -> None:
    """The only field paths the page code knows; a renamed field fails here."""
    paths = set(task_pages.form_field_paths(TaskSpec.model_json_schema()))
    assert set(task_pages.PICKERS) <= paths
    assert task_pages.NAME_FIELD in paths


def test_page_code_names_no_field() -> None:
    """The form is generated: no template or script spells out a field of the spec."""
    paths = task_pages.form_field_paths(TaskSpec.model_json_schema())
    distinctive = {p.rsplit(".", 1)[-1] for p in paths if "_" in p.rsplit(".", 1)[-1]}
    for path in OUR_FILES:
        text = path.read_text()
        named = [p for p in paths if p in text] + [k for k in distinctive if k in text]
        assert named == [], f"{path.name} names spec fields: {named}"


class _Tuning(BaseModel):
    """A section the spec does not have yet."""

    label_smoothing: float = Field(default=0.1, ge=0, le=0.5, description="Label smoothing.")


class _ExtendedModel(ModelConfig):
    mixup: bool = Field(default=False, description="Mix pairs of images.")


class _ExtendedData(DataConfig):
    augment_level: int = Field(default=2, ge=0, le=5, description="How strong the augmentation is.")


class _ExtendedSpec(TaskSpec):
    data: _ExtendedData
    model: _ExtendedModel = Field(default_factory=_ExtendedModel)
    tuning: _Tuning = Field(default_factory=_Tuning)


def test_a_field_added_to_the_spec_shows_up_in_the_form(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(task_pages, "SPEC_MODEL", _ExtendedSpec)
    with TestClient(app) as c:
        schema = c.get("/console/task-schema.json").json()
    paths = task_pages.form_field_paths(schema)
    assert {"model.mixup", "data.augment_level", "tuning.label_smoothing"} <= set(paths)
    assert set(paths) == _model_leaf_paths(_ExtendedSpec)
    new = schema["$defs"]["_ExtendedData"]["properties"]["augment_level"]
    assert new["description"] == "How strong the augmentation is." and new["maximum"] == 5


def test_every_string_the_task_pages_use_exists() -> None:
    used: set[str] = set()
    for path in OUR_FILES:
        used |= set(re.findall(r"""\bt\(\s*["']([a-z0-9_.]+)["']""", path.read_text()))
    assert used
    assert sorted(used - set(strings())) == []
    overrides = [k.removeprefix("tasks.field.") for k in strings() if k.startswith("tasks.field.")]
    leaves = task_pages.form_field_paths(TaskSpec.model_json_schema())
    paths = {".".join(p.split(".")[:n]) for p in leaves for n in range(1, p.count(".") + 2)}
    assert [k for k in overrides if k not in paths] == []  # no label for a field that is gone
