"""Fixtures for published models and online services: a task that ended with a real
(untrained, tiny) model, its published version, a fake runtime that records its batches,
and small images. No training: ``model.pt`` is written by hand from an untrained
``test_tiny`` classifier whose head bias makes "red" win on any image."""

from __future__ import annotations

import importlib.util
import io
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from autolearn.accounts import Principal

REPORT = {
    "metrics": {"accuracy": 0.75, "loss": 0.5},
    "best_epoch": 1,
    "classes": ["blue", "red"],
}
HAS_ONNX = all(
    importlib.util.find_spec(m) is not None
    for m in ("autolearn.serving.onnx_predictor", "autolearn.optimize.export")
)
# The formats a published version may have: onnx only once its runtime exists.
FORMATS = [
    "pytorch",
    pytest.param(
        "onnx",
        marks=pytest.mark.skipif(
            not HAS_ONNX, reason="autolearn.serving.onnx_predictor is not there yet"
        ),
    ),
]


def png_bytes(
    colour: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (40, 24)
) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def _colour_folder(root: Path) -> Path:
    """Six noisy blue and six noisy red images in class folders (``conftest`` has the
    same writer, but ``import conftest`` is ambiguous under tests/e2e)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for cls, base in (("blue", (40, 70, 220)), ("red", (220, 40, 40))):
        (root / cls).mkdir(parents=True, exist_ok=True)
        for i in range(6):
            noise = rng.integers(-40, 41, size=(32, 32, 3))
            pixels = np.clip(np.array(base) + noise, 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / cls / f"{i}.png")
    return root


def finish_with_model(task: dict[str, Any], report: dict[str, Any] | None = None) -> None:
    """Give a queued task what a successful run leaves: model.pt (an untrained
    ``test_tiny`` classifier whose head bias makes "red" win on any image), meta.json,
    ``report`` (default ``REPORT``), and the row's final status and metrics."""
    import torch

    from autolearn.db import Task, session_scope
    from autolearn.models.classification import build_classifier
    from autolearn.storage import open_store
    from autolearn.tasks.results import META_KEY, MODEL_KEY, REPORT_KEY
    from autolearn.training.callbacks.checkpoint import save_torch
    from autolearn.training.hparams import Plan
    from autolearn.training.runner import model_meta

    report = REPORT if report is None else report
    plan = Plan.model_validate(task["plan"])
    torch.manual_seed(0)
    state = build_classifier(plan.model, len(plan.classes), pretrained=False).state_dict()
    state["classifier.bias"] = torch.tensor([0.0, 6.0])  # "red" on any image
    meta = model_meta(plan, task["id"])
    store = open_store(task["output_uri"])
    save_torch(store, MODEL_KEY, {"state_dict": state, "meta": meta})
    store.put_json(META_KEY, {**meta, "best_epoch": 1, "metrics": report["metrics"]})
    store.put_json(REPORT_KEY, report)
    with session_scope() as s:
        row = s.get(Task, task["id"])
        assert row is not None
        row.status, row.epoch = "SUCCEED", 1
        row.metrics = {**report["metrics"], "best_epoch": 1}


def make_finished_task(
    home: Path, dataset: str = "colours", actor: Principal | None = None
) -> dict[str, Any]:
    """A SUCCEED task (owned by ``actor``) whose folder holds what a run leaves:
    ``model.pt``, ``meta.json`` and the report."""
    from autolearn.datasets.service import import_dataset
    from autolearn.tasks.service import create_task, parse_spec

    import_dataset(_colour_folder(home / f"{dataset}-images"), name=dataset, actor=actor)
    spec = {
        "basic": {"name": "tiny"},
        "data": {"source": {"type": "dataset", "dataset": dataset}},
        "model": {"pretrained": "test_tiny", "hyperparams": {"epochs": 1, "batch_size": 8}},
    }
    task = create_task(parse_spec(spec), actor=actor)
    finish_with_model(task)
    return task


def add_onnx_profile(
    task: dict[str, Any], profile: str = "cpu-int8", status: str = "ready"
) -> None:
    """What the optimiser leaves for ``profile``: ``model.onnx`` (exported from the
    task's model when the ONNX exporter works here, else placeholder bytes) and its
    report."""
    from autolearn.storage import open_store
    from autolearn.tasks.results import META_KEY, optimized_key

    store = open_store(task["output_uri"])
    meta = store.get_json(META_KEY)
    store.put_bytes(optimized_key(profile, "model.onnx"), _onnx_bytes(task))
    report = {
        "status": status,
        "meta": meta,
        "before": {"accuracy": 0.75, "latency_ms": 9.0},
        "after": {"accuracy": 0.5 if status != "ready" else 0.75, "latency_ms": 3.0},
    }
    store.put_json(optimized_key(profile, "report.json"), report)


def _onnx_bytes(task: dict[str, Any]) -> bytes:
    """The task's model as ONNX, through the optimiser's own exporter (which embeds the
    metadata ``OnnxPredictor`` reads), or placeholder bytes before it exists."""
    if not HAS_ONNX:
        return b"stands in for an onnx file"
    import tempfile

    from autolearn.optimize.export import to_onnx
    from autolearn.serving.predictor import Predictor
    from autolearn.storage import open_store
    from autolearn.tasks.results import MODEL_KEY

    predictor = Predictor.from_file(open_store(task["output_uri"]).uri(MODEL_KEY), device="cpu")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        to_onnx(predictor.model, predictor.meta, path)
        return path.read_bytes()


@pytest.fixture
def finished_task(autolearn_home: Path) -> dict[str, Any]:
    """A task of the local operator that ended with a model (classes blue, red)."""
    return make_finished_task(autolearn_home)


@pytest.fixture
def published_version(finished_task: dict[str, Any]) -> dict[str, Any]:
    """``colours:v1``: the finished task's model.pt, published by the local operator."""
    from autolearn.models.published import publish

    return publish(finished_task["id"], "colours")


class FakeRuntime:
    """A ``Runtime`` that answers "red" for every image after ``delay_s`` per call and
    records each call's batch size (thread-safe), to show what the batcher did."""

    kind = "classification"
    batch_size = 64

    def __init__(self, delay_s: float = 0.05, fail: bool = False) -> None:
        self.classes = ["blue", "red"]
        self.meta: dict[str, Any] = {"scenario": "classification", "classes": self.classes}
        self.delay_s, self.fail = delay_s, fail
        self.batches: list[int] = []
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.release.set()

    @property
    def is_detection(self) -> bool:
        return False

    def predict(
        self,
        images: Sequence[Any],
        names: Sequence[str | None] | None = None,
        *,
        threshold: float | None = None,
        top_k: int = 5,
    ) -> list[dict[str, Any]]:
        self.release.wait(10)
        with self.lock:
            self.batches.append(len(images))
        time.sleep(self.delay_s)
        if self.fail:
            raise RuntimeError("the fake model broke")
        return [
            {
                "image": None,
                "width": img.width,
                "height": img.height,
                "predictions": [{"label": "red", "class_id": 1, "score": 0.99}][:top_k],
            }
            for img in images
        ]


@pytest.fixture
def fake_runtime(monkeypatch: pytest.MonkeyPatch) -> Callable[..., FakeRuntime]:
    """``fake_runtime(delay_s=0.05)``: every service this process loads gets this fake
    (through the manager's one loading function); the returned object records batches."""
    from autolearn.serving import manager as manager_module

    made: dict[str, FakeRuntime] = {}

    def install(delay_s: float = 0.05, fail: bool = False) -> FakeRuntime:
        runtime = FakeRuntime(delay_s, fail)
        made["runtime"] = runtime
        monkeypatch.setattr(manager_module, "_load", lambda uri, threads: made["runtime"])
        return runtime

    return install


@pytest.fixture
def clean_services() -> Any:
    """Each test starts and ends with no service loaded in this process."""
    from autolearn.serving.manager import shutdown

    shutdown()
    yield
    shutdown()
