"""Max training duration on the real ants/bees photos: ends in bound, keeps a usable model."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch
from PIL import Image

from autolearn.datasets.service import import_dataset
from autolearn.scheduler.worker import run_task
from autolearn.tasks.service import create_task, get_task, parse_spec
from autolearn.training.data import eval_transform
from autolearn.training.runner import load_model_file

HYMENOPTERA = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "hymenoptera"
pytestmark = pytest.mark.slow


@pytest.mark.skipif(not HYMENOPTERA.is_dir(), reason="../shared/datasets/hymenoptera missing")
def test_time_limit_ends_in_bound_with_a_usable_best_model(autolearn_home: Path) -> None:
    from autolearn.models.classification import build_classifier

    import_dataset(HYMENOPTERA, name="hymenoptera")
    spec = {
        "data": {"source": {"type": "dataset", "dataset": "hymenoptera"}},
        "model": {"preference": "speed", "max_duration": "40s", "hyperparams": {"epochs": 20}},
    }
    task_id = create_task(parse_spec(spec))["id"]
    start = time.monotonic()
    assert run_task(task_id, started_at=start).value == "SUCCEED"
    took = time.monotonic() - start
    task = get_task(task_id)
    assert task["stop_reason"] == "time_limit"
    assert took <= 40 + 30, f"ran {took:.1f} s for a 40 s limit"
    assert task["epoch"] < 20

    saved = load_model_file(task["model_uri"])
    meta = saved["meta"]
    model = build_classifier(meta["model"], len(meta["classes"]), pretrained=False)
    model.load_state_dict(saved["state_dict"])
    model.eval()
    tf = eval_transform(meta["input_size"], meta["mean"], meta["std"])
    bees = sorted((HYMENOPTERA / "val" / "bees").iterdir())[:8]
    batch = torch.stack([tf(Image.open(p).convert("RGB")) for p in bees])
    with torch.inference_mode():
        preds = model(batch).argmax(1).tolist()
    assert sum(meta["classes"][p] == "bees" for p in preds) >= 5
