"""Read a task's stored results (evaluation report) through the storage layer."""

from __future__ import annotations

from typing import Any

from autolearn.storage import open_store

REPORT_KEY = "evaluation/report.json"
MODEL_KEY = "model/model.pt"


def read_report(task: dict[str, Any]) -> dict[str, Any] | None:
    """The evaluation report of a finished task, or None if it has none yet."""
    if not task.get("output_uri"):
        return None
    store = open_store(task["output_uri"])
    if not store.exists(REPORT_KEY):
        return None
    report: dict[str, Any] = store.get_json(REPORT_KEY)
    return report
