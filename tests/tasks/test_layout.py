"""The tasks package after its split: imports still run one way, and the names callers
have always imported from ``autolearn.tasks.service`` are still there."""

from __future__ import annotations

import ast
from pathlib import Path

import autolearn.tasks
from autolearn.tasks import errors, lifecycle, parsing, service, views

ABOVE = ("autolearn.scheduler", "autolearn.api", "autolearn.cli", "autolearn.web", "autolearn.sdk")


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_tasks_never_imports_what_stands_above_it() -> None:
    folder = Path(autolearn.tasks.__file__).parent
    for path in sorted(folder.glob("*.py")):
        bad = {m for m in _imported(path) if m.startswith(ABOVE)}
        assert not bad, f"{path.name} imports {sorted(bad)}"


def test_the_service_keeps_the_names_its_callers_import() -> None:
    assert service.TaskError is errors.TaskError
    assert service.TaskNotFoundError is errors.TaskNotFoundError
    assert service.TaskStateError is errors.TaskStateError
    assert service.ModelNotFoundError is errors.ModelNotFoundError
    assert service.EvaluationNotFoundError is errors.EvaluationNotFoundError
    assert service.parse_spec is parsing.parse_spec
    assert service.load_spec_file is parsing.load_spec_file
    assert service.merge_spec is parsing.merge_spec
    assert service.task_view is views.task_view
    assert service.model_name is views.model_name
    for name in service.__all__:
        assert getattr(service, name) is not None, name


def test_the_cli_refuses_an_active_task_in_the_services_words() -> None:
    assert lifecycle.active_refusal(7, "STOPPED") is None
    refusal = lifecycle.active_refusal(7, "RUNNING")
    assert refusal is not None and refusal.startswith("task 7 is RUNNING; stop it first")
