"""``export_task``: a trained task's best model as ONNX or TorchScript, with its model card,
written to ``export/`` in the task's folder (the CLI copies it out, the API streams it).
Exports are rebuilt on every call: a resumed task may have a better model since."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autolearn.optimize.errors import ExportFormatError
from autolearn.tasks.results import EXPORT_PREFIX

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from autolearn.accounts import Principal

FORMATS = {"onnx": "model.onnx", "torchscript": "model.torchscript.pt"}
CARD = "model_card.json"


def export_key(fmt: str) -> str:
    """``export/model.onnx`` …; ``ExportFormatError`` for an unknown format."""
    if fmt not in FORMATS:
        raise ExportFormatError(f"unknown export format {fmt!r}; choose {' or '.join(FORMATS)}")
    return f"{EXPORT_PREFIX}/{FORMATS[fmt]}"


def export_task(
    task_id: int, fmt: str, actor: Principal | None = None, engine: Engine | None = None
) -> dict[str, Any]:
    """Export task ``task_id``'s best model; returns ``{"key", "uri", "filename",
    "size_bytes", "card"}`` (the file and ``export/model_card.json`` are in its store)."""
    from autolearn.optimize.export import to_onnx, to_torchscript
    from autolearn.serving.predictor import Predictor, model_uri
    from autolearn.storage import open_store
    from autolearn.tasks.service import get_task

    key = export_key(fmt)
    task = get_task(task_id, engine, actor=actor)
    original = Predictor.from_file(model_uri(task), device="cpu")
    store = open_store(task["output_uri"])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / FORMATS[fmt]
        if fmt == "onnx":
            to_onnx(original.model, original.meta, path)
        else:
            to_torchscript(original.model, original.meta, path)
        store.put_bytes(key, path.read_bytes())
        size = path.stat().st_size
    card = model_card(task_id, fmt, original.meta, engine)
    store.put_json(f"{EXPORT_PREFIX}/{CARD}", card)
    return {
        "key": key,
        "uri": store.uri(key),
        "filename": FORMATS[fmt],
        "size_bytes": size,
        "card": card,
    }


def model_card(
    task_id: int, fmt: str, meta: dict[str, Any], engine: Engine | None = None
) -> dict[str, Any]:
    """The same card a published version carries (``models.published``)."""
    from autolearn.db import Task, session_scope
    from autolearn.models.published import model_card as card_of

    with session_scope(engine) as s:
        row = s.get(Task, task_id)
        if row is None:  # deleted between the export and its card
            raise ExportFormatError(f"task {task_id} no longer exists")
        source = {
            "profile": "pytorch",
            "format": fmt,
            "metrics": meta.get("metrics") or {},
            "meta": meta,
        }
        return card_of(row, source)
