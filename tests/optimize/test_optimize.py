"""Optimising a trained task: the CPU profiles end to end on a tiny trained classifier,
the accuracy gate refusing a deliberately broken INT8 calibration (with the numbers, and
no model file left to publish), and profiles this worker cannot run refused by name."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from autolearn.datasets.service import import_dataset
from autolearn.optimize.profiles import ProfileError
from autolearn.optimize.service import OptimizeError, optimize_task
from autolearn.scheduler.worker import run_task
from autolearn.serving.onnx_predictor import OnnxPredictor
from autolearn.storage import open_store
from autolearn.tasks.results import optimized_key
from autolearn.tasks.service import create_task, get_task, parse_spec

pytestmark = pytest.mark.slow
# ImageNet's mean colour (the normalisation test_tiny uses), as one calibration image.
MEAN_GREY = [Image.new("RGB", (32, 32), (124, 116, 104))]


@pytest.fixture
def trained(
    autolearn_home: Path,
    make_learnable_folder: Callable[..., Path],
    tiny_spec: Callable[..., dict[str, Any]],
) -> dict[str, Any]:
    """A SUCCEEDed test_tiny task on four colour classes (val accuracy near 1)."""
    folder = make_learnable_folder(
        autolearn_home / "colours", {"red": 16, "green": 16, "blue": 16, "grey": 16}
    )
    import_dataset(folder, name="colours")
    spec = tiny_spec(hyperparams={"epochs": 6})
    task = create_task(parse_spec(spec))
    run_task(task["id"])
    done = get_task(task["id"])
    assert done["status"] == "SUCCEED", done["message"]
    return done


def test_cpu_int8_is_accepted_with_numbers_and_a_usable_model(trained: dict[str, Any]) -> None:
    report = optimize_task(trained["id"], "cpu", "INT8", bench_seconds=0.3)
    assert report["status"] == "ready", report["message"]
    gate = report["gate"]
    assert gate["accepted"] and gate["metric"] == "accuracy"
    assert gate["before"] >= 0.9, "the fixture model must be good for the gate to mean much"
    for side in ("before", "after"):
        numbers = report[side]
        assert numbers["latency_p50_ms"] > 0 and numbers["throughput_bs32"] > 0
        assert numbers["latency_p99_ms"] >= numbers["latency_p50_ms"]
    assert report["after"]["engine"] == "onnxruntime-cpu"
    assert report["engine"]["precision"] == "int8"
    assert report["after"]["size_bytes"] < report["before"]["size_bytes"]
    store = open_store(trained["output_uri"])
    assert store.get_json(optimized_key("cpu-int8", "report.json"))["status"] == "ready"
    model = OnnxPredictor.from_file(store.uri(optimized_key("cpu-int8", "model.onnx")))
    assert model.meta["precision"] == "int8" and model.classes == trained["plan"]["classes"]


def test_cpu_no_loss_keeps_the_metric(trained: dict[str, Any]) -> None:
    report = optimize_task(trained["id"], "cpu", "NO_LOSS", bench_seconds=0.3)
    assert report["status"] == "ready"
    assert report["gate"]["drop_points"] == pytest.approx(0.0, abs=1e-6)


def test_gate_refuses_a_broken_int8_calibration(trained: dict[str, Any]) -> None:
    """Calibrated on one image of the normalisation's mean colour, the network sees a zero
    input: every activation range collapses to what the biases give, real images saturate
    it and the answers collapse to one class. The gate must refuse."""
    report = optimize_task(trained["id"], "cpu", "INT8", calibration=MEAN_GREY, bench_seconds=0.3)
    assert report["status"] == "refused", report["gate"]
    gate = report["gate"]
    assert not gate["accepted"] and gate["drop_points"] > 1.0
    assert (
        f"{gate['before']:.4f}" in report["message"]
        and "exceeds the tolerance" in report["message"]
    )
    store = open_store(trained["output_uri"])
    assert not store.exists(optimized_key("cpu-int8", "model.onnx")), "a refused model is not kept"


def test_tolerance_is_the_users(trained: dict[str, Any]) -> None:
    report = optimize_task(
        trained["id"], "cpu", "INT8", calibration=MEAN_GREY, tolerance=100.0, bench_seconds=0.3
    )
    assert report["status"] == "ready" and report["tolerance_points"] == 100.0


def test_profiles_that_cannot_run_say_why(trained: dict[str, Any]) -> None:
    with pytest.raises(OptimizeError, match="FP16 is a GPU level"):
        optimize_task(trained["id"], "cpu", "FP16")
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(ProfileError, match="needs a CUDA GPU"):
            optimize_task(trained["id"], "gpu-t4", "FP16")
        report = open_store(trained["output_uri"]).get_json(
            optimized_key("gpu-t4-fp16", "report.json")
        )
        assert report["status"] == "failed" and "CUDA" in report["message"]


def test_the_form_optimises_after_training(
    autolearn_home: Path,
    make_learnable_folder: Callable[..., Path],
    tiny_spec: Callable[..., dict[str, Any]],
) -> None:
    folder = make_learnable_folder(autolearn_home / "colours", {"red": 12, "blue": 12})
    import_dataset(folder, name="colours")
    spec = tiny_spec(optimization={"target": "cpu", "level": "INT8", "max_metric_drop": 5})
    task = create_task(parse_spec(spec))
    run_task(task["id"])
    done = get_task(task["id"])
    assert done["status"] == "SUCCEED"
    summary = done["metrics"]["optimization"]
    assert summary["profile"] == "cpu-int8" and summary["status"] == "ready", summary
    assert summary["engine"] == "onnxruntime-cpu"
    report = open_store(done["output_uri"]).get_json(optimized_key("cpu-int8", "report.json"))
    assert report["tolerance_points"] == 5


def test_a_trained_detector_optimises_with_its_map_gated(autolearn_home: Path) -> None:
    """A tiny detector on the tableware sample through INT8: the gate reports the task's
    detection metric for both sides, and the kept model predicts boxes."""
    from autolearn.datasets.samples.tableware import build

    folder = build(autolearn_home / "scenes", n_images=24, size=(160, 120), vary_size=False)
    import_dataset(folder, name="scenes")
    model = {"pretrained": "test_tiny", "preference": "speed", "max_duration": 600}
    model["hyperparams"] = {"epochs": 2, "batch_size": 4}
    spec = {
        "basic": {"scenario": "detection"},
        "data": {"source": {"type": "dataset", "dataset": "scenes"}},
        "model": model,
    }
    task = create_task(parse_spec(spec))
    assert run_task(task["id"]).value == "SUCCEED"
    report = optimize_task(task["id"], "cpu", "INT8", tolerance=100.0, bench_seconds=0.3)
    assert report["status"] == "ready", report["message"]
    assert report["gate"]["metric"] == task["plan"]["metric"]
    assert report["meta"]["postprocess"]["arch"] == task["plan"]["arch"]
    uri = open_store(task["output_uri"]).uri(optimized_key("cpu-int8", "model.onnx"))
    (result,) = OnnxPredictor.from_file(uri).predict([Image.new("RGB", (160, 120))], threshold=0.0)
    assert "detections" in result
