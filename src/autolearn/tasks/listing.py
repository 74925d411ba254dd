"""The SQL behind task lists: filters, sorting and the trained-model query.

Lists are polled (the console, scripts, ``bench/api.py`` with 100 clients), so everything
here is one page query plus one count, with no per-row reads of the object store: the
values shown come from the row (its plan, spec and final metrics).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, get_args

from sqlalchemy import ColumnElement, Select, case, func, select, true
from sqlalchemy.orm import Session, defer

from autolearn.db import Dataset, DatasetVersion, Task
from autolearn.tasks.spec import SCENARIO_METRICS
from autolearn.tasks.states import Status

SortKey = Literal["created", "-created", "name", "-name", "status", "-status", "metric", "-metric"]
SORT_KEYS: tuple[str, ...] = get_args(SortKey)
ScenarioName = Literal["classification", "detection", "tableware"]
SCENARIOS: tuple[str, ...] = get_args(ScenarioName)
METRICS = tuple(dict.fromkeys(m for names in SCENARIO_METRICS.values() for m in names))
_VERSION_REF = re.compile(r"^(?P<name>.+):v(?P<number>\d+)$")


class ListError(ValueError):
    """A filter or sort value that is not allowed; the message lists what is."""


@dataclass(frozen=True)
class TaskFilter:
    """What a task list is restricted to; ``None`` means no restriction."""

    statuses: tuple[str, ...] | None = None
    scenario: str | None = None
    name: str | None = None
    dataset: str | None = None
    owner_id: int | None = None

    @classmethod
    def parse(
        cls,
        status: str | None = None,
        scenario: str | None = None,
        name: str | None = None,
        dataset: str | None = None,
        owner_id: int | None = None,
    ) -> TaskFilter:
        """Checked values: ``status`` may list several (``RUNNING,QUEUED``), any case."""
        return cls(
            statuses=_statuses(status) if status else None,
            scenario=_scenario(scenario) if scenario else None,
            name=name or None,
            dataset=dataset or None,
            owner_id=owner_id,
        )

    def apply(self, query: Select[Any]) -> Select[Any]:
        """``query`` restricted to the tasks this filter lets through."""
        if self.statuses:
            query = query.where(Task.status.in_(self.statuses))
        if self.scenario:
            query = query.where(Task.scenario == self.scenario)
        if self.name:
            pattern = "%" + _escape_like(self.name.lower()) + "%"
            query = query.where(func.lower(Task.name).like(pattern, escape="\\"))
        if self.dataset:
            query = query.where(Task.dataset_version_id.in_(_versions_of(self.dataset)))
        if self.owner_id is not None:
            query = query.where(Task.owner_id == self.owner_id)
        return query


def _statuses(text: str) -> tuple[str, ...]:
    names = [part.strip().upper() for part in text.split(",") if part.strip()]
    known = {s.value for s in Status}
    bad = [n for n in names if n not in known]
    if bad or not names:
        raise ListError(
            f"status {text!r} is not a task status; use one of {', '.join(s.value for s in Status)}"
            " (several separated by commas)"
        )
    return tuple(names)


def _scenario(text: str) -> str:
    if text.lower() not in SCENARIOS:
        raise ListError(f"scenario {text!r} is unknown; use one of {', '.join(SCENARIOS)}")
    return text.lower()


def _escape_like(text: str) -> str:
    """A name fragment matched literally: ``%`` and ``_`` are not wildcards here."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _versions_of(dataset: str) -> Select[Any]:
    """Version ids of dataset ``name`` (every version) or of ``name:vN`` (that one)."""
    query = select(DatasetVersion.id).join(Dataset, DatasetVersion.dataset_id == Dataset.id)
    match = _VERSION_REF.match(dataset)
    if match:
        return query.where(
            Dataset.name == match["name"], DatasetVersion.number == int(match["number"])
        )
    return query.where(Dataset.name == dataset)


def json_readable(s: Session) -> ColumnElement[bool]:
    """True where SQL may read inside ``tasks.metrics``. SQLite (before 3.42) refuses the
    whole query if one row's JSON holds ``NaN`` (Python writes it for a diverged loss), so
    such rows are left out of JSON conditions there instead of failing every list."""
    if s.get_bind().dialect.name == "sqlite":
        return func.json_valid(Task.metrics) == 1
    return true()


def metric_value(s: Session) -> ColumnElement[Any]:
    """Each task's value of its own monitored metric (``plan.metric``): a CASE over the
    known metric names, so it compiles the same on SQLite and PostgreSQL."""
    chosen = Task.plan["metric"].as_string()
    whens = [(chosen == name, Task.metrics[name].as_float()) for name in METRICS]
    value = case(*whens, else_=Task.metrics["accuracy"].as_float())
    return case((json_readable(s), value), else_=None)


def order_by(s: Session, sort: str) -> list[Any]:
    """ORDER BY terms for ``sort`` (``-`` = descending); ties go newest first. ``created``
    sorts by id, which is given in creation order and needs no extra index; names sort
    regardless of case; tasks without a metric value come last either way."""
    if sort not in SORT_KEYS:
        raise ListError(f"sort {sort!r} is not allowed; use one of {', '.join(SORT_KEYS)}")
    key = sort.lstrip("-")
    descending = sort.startswith("-")
    if key == "created":
        return [Task.id.desc() if descending else Task.id.asc()]
    column: Any = {"name": func.lower(Task.name), "status": Task.status}.get(key)
    if column is None:
        column = metric_value(s)
        term = column.desc().nulls_last() if descending else column.asc().nulls_last()
    else:
        term = column.desc() if descending else column.asc()
    return [term, Task.id.desc()]


def has_model(s: Session) -> ColumnElement[bool]:
    """Tasks whose run validated at least one epoch: they have ``model/model.pt``,
    ``model/meta.json`` and ``evaluation/report.json`` (``metrics.best_epoch`` is set by
    the worker only then, and cleared when the task is being deleted)."""
    best = Task.metrics["best_epoch"].as_integer()
    return json_readable(s) & best.is_not(None)


def page(
    s: Session, where: TaskFilter, sort: str, limit: int, offset: int, *extra: Any
) -> tuple[list[Task], int]:
    """One page of tasks and the number of all that match (for the pager)."""
    query = where.apply(select(Task)).where(*extra)
    total = s.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    ordered = query.order_by(*order_by(s, sort)).offset(offset).limit(limit)
    # The list view never shows these; not loading them keeps a polled page light.
    rows = s.scalars(ordered.options(defer(Task.advice), defer(Task.description)))
    return list(rows), int(total)
