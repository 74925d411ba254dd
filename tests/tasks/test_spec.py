"""The TaskSpec is the form: defaults, ranges, and errors that name the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from autolearn.tasks.service import TaskError, load_spec_file, parse_spec
from autolearn.tasks.spec import TaskSpec, parse_duration

SOURCE = {"source": {"type": "sample", "sample": "digits"}}


def spec(**sections: Any) -> TaskSpec:
    return parse_spec({"data": SOURCE, **sections})


def test_defaults_follow_the_seed_form() -> None:
    s = spec()
    assert s.basic.scenario == "classification"
    assert s.model.max_duration == 3600  # seed: default 1 hour
    assert s.model.pretrained == "auto"
    assert s.model.preference == "balanced"
    assert s.model.expected_accuracy is None
    assert s.data.incremental.enabled is False  # seed: off by default
    assert {s.model.hyperparams.epochs, s.model.hyperparams.lr} == {"auto"}
    assert s.model.optimization.level == "NO_LOSS"
    assert s.resources.charge_type == "POSTPAID_BY_HOUR"


@pytest.mark.parametrize(
    ("sections", "field", "hint"),
    [
        ({"model": {"hyperparams": {"lr": -1}}}, "model.hyperparams.lr", "greater than 0"),
        ({"model": {"hyperparams": {"epochs": "x"}}}, "model.hyperparams.epochs", "'auto'"),
        ({"model": {"hyperparams": {"batch_size": 0}}}, "model.hyperparams.batch_size", "'auto'"),
        ({"model": {"expected_accuracy": 1.5}}, "model.expected_accuracy", "less than or equal"),
        ({"model": {"preference": "fast"}}, "model.preference", "'speed'"),
        ({"model": {"max_duration": "5q"}}, "model.max_duration", "90s"),
        ({"model": {"max_duration": 1}}, "model.max_duration", "greater than or equal to 10"),
        ({"model": {"optimization": {"level": "INT4"}}}, "model.optimization.level", "INT8"),
        ({"basic": {"name": ""}}, "basic.name", "at least 1"),
        ({"basic": {"scenario": "segmentation"}}, "basic.scenario", "classification"),
        ({"basic": {"region": "Bad Region"}}, "basic.region", "pattern"),
        ({"output": {"path": "/tmp/out"}}, "output.path", "URI"),
        ({"resources": {"charge_type": "PREPAID"}}, "resources", "resource_group"),
        ({"resources": {"count": 0}}, "resources.count", "greater than or equal to 1"),
        ({"model": {"learning_rate": 0.1}}, "model.learning_rate", "Extra inputs"),
    ],
)
def test_bad_values_name_the_field(sections: dict[str, Any], field: str, hint: str) -> None:
    with pytest.raises(TaskError) as err:
        spec(**sections)
    lines = [ln for ln in str(err.value).splitlines() if ln.startswith(field)]
    assert lines, str(err.value)
    assert hint in lines[0]


def test_incremental_needs_a_base_task() -> None:
    with pytest.raises(TaskError, match=r"data.incremental: .*base_task"):
        parse_spec({"data": {**SOURCE, "incremental": {"enabled": True}}})


def test_data_source_kinds() -> None:
    with pytest.raises(TaskError, match=r"data\.source"):
        parse_spec({"data": {"source": {"type": "ftp", "path": "x"}}})
    s = parse_spec({"data": {"source": {"type": "dataset", "dataset": "ants:v2"}}})
    assert s.data.source.type == "dataset"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("40m", 2400), ("1h30m", 5400), ("2h", 7200), ("1.5h", 5400)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds
    assert spec(model={"max_duration": text}).model.max_duration == seconds


def test_every_field_has_a_description() -> None:
    """The console builds its form from this schema: no field may be unexplained."""
    schema = TaskSpec.model_json_schema()
    missing = []
    for name, model in schema["$defs"].items():
        for field, prop in model.get("properties", {}).items():
            if field != "type" and "description" not in prop:
                missing.append(f"{name}.{field}")
    assert not missing


def test_yaml_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "task.yaml"
    path.write_text(
        "basic: {name: ants}\n"
        "data:\n  source: {type: dataset, dataset: hymenoptera}\n  validation_percent: 25\n"
        "model:\n  preference: speed\n  max_duration: 40m\n  hyperparams: {epochs: 4, lr: auto}\n"
    )
    s = parse_spec(load_spec_file(path), str(path))
    assert s.model.max_duration == 2400 and s.model.hyperparams.epochs == 4
    assert TaskSpec.model_validate(s.model_dump(mode="json")) == s


def test_yaml_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("basic: [unclosed\n")
    with pytest.raises(TaskError, match=r"bad\.yaml is not valid YAML"):
        load_spec_file(bad)
    with pytest.raises(TaskError, match="does not exist"):
        load_spec_file(tmp_path / "missing.yaml")
    listy = tmp_path / "list.yaml"
    listy.write_text("- 1\n")
    with pytest.raises(TaskError, match="mapping"):
        load_spec_file(listy)
