"""A task's output folder: where each artifact lives (one place for the worker, the
supervisor and the task service), and reading the stored report."""

from __future__ import annotations

from typing import Any

from autolearn.storage import open_store

LAST_KEY = "checkpoints/last.pt"  # everything resume needs, written every epoch
MODEL_KEY = "model/model.pt"  # best validation weights + metadata
META_KEY = "model/meta.json"  # the metadata alone, readable without torch
REPORT_KEY = "evaluation/report.json"  # metrics, confusion matrix, per class, history


def read_report(task: dict[str, Any]) -> dict[str, Any] | None:
    """The evaluation report of a finished task, or None if it has none yet."""
    if not task.get("output_uri"):
        return None
    store = open_store(task["output_uri"])
    if not store.exists(REPORT_KEY):
        return None
    report: dict[str, Any] = store.get_json(REPORT_KEY)
    return report
