"""A task's output folder: where each artifact lives (one place for the worker, the
supervisor and the task service), reading the stored report and model metadata, and
removing the folder when the task is deleted."""

from __future__ import annotations

from typing import Any

from autolearn.storage import StorageError, open_store

LAST_KEY = "checkpoints/last.pt"  # everything resume needs, written every epoch
MODEL_KEY = "model/model.pt"  # best validation weights + metadata
META_KEY = "model/meta.json"  # the metadata alone, readable without torch
REPORT_KEY = "evaluation/report.json"  # metrics, confusion matrix, per class, history
OPTIMIZED_PREFIX = "optimized"  # optimized/<profile>/model.onnx + report.json (optimize/)
EXPORT_PREFIX = "export"  # export/model.onnx, model.torchscript.pt, model_card.json
# Everything a task writes into its folder (files, and folders as prefixes).
OUTPUT_KEYS = (
    "spec.json",
    "plan.json",
    "checkpoints",
    "model",
    "evaluation",
    OPTIMIZED_PREFIX,
    EXPORT_PREFIX,
)


def optimized_key(profile: str, name: str) -> str:
    """``optimized/<profile>/<name>``: profile ids are ``<target>-<level>`` in lower case
    (``cpu-int8``, ``cpu-no_loss``, ``gpu-t4-fp16``); names ``model.onnx``, ``report.json``."""
    return f"{OPTIMIZED_PREFIX}/{profile}/{name}"


def _read_json(task: dict[str, Any], key: str) -> dict[str, Any] | None:
    if not task.get("output_uri"):
        return None
    store = open_store(task["output_uri"])
    if not store.exists(key):
        return None
    found: dict[str, Any] = store.get_json(key)
    return found


def read_report(task: dict[str, Any]) -> dict[str, Any] | None:
    """The evaluation report of a finished task, or None if it has none yet."""
    return _read_json(task, REPORT_KEY)


def read_meta(task: dict[str, Any]) -> dict[str, Any] | None:
    """The model's metadata (scenario, classes, input size, normalisation, detection
    score thresholds, best epoch and metrics), or None before the task has ended with a
    model: the worker writes it beside the report when training ends."""
    return _read_json(task, META_KEY)


def has_model_file(task: dict[str, Any]) -> bool:
    """Whether ``model/model.pt`` exists (from the first validated epoch on)."""
    return bool(task.get("output_uri")) and open_store(task["output_uri"]).exists(MODEL_KEY)


def remove_outputs(output_uri: str, whole_folder: bool) -> int:
    """Delete a task's artifacts; returns how many objects there were.

    ``whole_folder``: the folder is the task's own (``tasks/<id>`` in the platform's
    store) and goes entirely. Otherwise it is a path the user chose, which may hold other
    things: only the keys a task writes (``OUTPUT_KEYS``) are removed.
    """
    if not output_uri:
        return 0
    store = open_store(output_uri)
    try:
        if whole_folder:
            count = len(store.list())
            store.delete("")
            return count
        count = 0
        for key in OUTPUT_KEYS:
            count += len(store.list(key))
            store.delete(key)
        return count
    except OSError as exc:
        raise StorageError(f"could not delete the artifacts under {output_uri}: {exc}") from None
