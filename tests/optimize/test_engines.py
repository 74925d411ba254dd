"""Which engine runs a profile, on every kind of worker, and the GPU engine's wiring
(``CompiledPredictor``), checked on the CPU with torch.compile's eager backend: the same
answers as ``Predictor``, an artifact that loads back (as plain PyTorch without CUDA)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image
from tests.optimize.test_export import cls_meta, det_meta, scene, trained_like

from autolearn.optimize.errors import ProfileError
from autolearn.optimize.profiles import (
    ORT_CPU,
    ORT_CUDA,
    ORT_TRT,
    TORCH_COMPILE,
    Profile,
    choose_engine,
)
from autolearn.serving.compiled_predictor import CompiledPredictor, compiled_artifact
from autolearn.serving.predictor import Predictor
from autolearn.serving.runtime import load_runtime
from autolearn.storage import open_store
from autolearn.training.callbacks.checkpoint import save_torch

CPU_ONLY = ["CPUExecutionProvider"]
WITH_CUDA = ["CUDAExecutionProvider", "CPUExecutionProvider"]
WITH_TRT = ["TensorrtExecutionProvider", *WITH_CUDA]


@pytest.mark.parametrize(
    ("target", "level", "cuda", "providers", "engine", "precision"),
    [
        ("cpu", "NO_LOSS", False, CPU_ONLY, ORT_CPU, "fp32"),
        ("cpu", "INT8", True, WITH_TRT, ORT_CPU, "int8"),
        ("gpu-t4", "FP16", True, WITH_TRT, ORT_TRT, "fp16"),
        ("gpu-a10", "INT8", True, WITH_TRT, ORT_TRT, "int8"),
        ("gpu-v100", "FP16", True, WITH_CUDA, ORT_CUDA, "fp16"),
        ("gpu-t4", "NO_LOSS", True, WITH_CUDA, ORT_CUDA, "fp32"),
        ("gpu-t4", "FP16", True, CPU_ONLY, TORCH_COMPILE, "fp16"),
        ("gpu-a10", "NO_LOSS", True, CPU_ONLY, TORCH_COMPILE, "fp32"),
    ],
)
def test_engine_choice(
    target: str, level: str, cuda: bool, providers: list[str], engine: str, precision: str
) -> None:
    chosen = choose_engine(Profile(target, level), cuda, providers)
    assert (chosen.name, chosen.precision) == (engine, precision)
    assert chosen.reason


def test_profiles_that_no_worker_here_can_run() -> None:
    with pytest.raises(ProfileError, match="FP16 is a GPU level"):
        Profile("cpu", "FP16")
    with pytest.raises(ProfileError, match="needs a CUDA GPU"):
        choose_engine(Profile("gpu-t4", "FP16"), False, WITH_TRT)
    with pytest.raises(ProfileError, match="needs TensorRT"):
        choose_engine(Profile("gpu-t4", "INT8"), True, WITH_CUDA)
    with pytest.raises(ProfileError, match="unknown target"):
        Profile("tpu", "INT8")
    assert Profile("gpu-t4", "FP16").id == "gpu-t4-fp16"


def _eager(model: torch.nn.Module, meta: dict[str, Any]) -> CompiledPredictor:
    return CompiledPredictor(model, meta, device="cpu", half=False, mode=None, backend="eager")


def test_compiled_classifier_answers_like_pytorch() -> None:
    meta = cls_meta()
    model = trained_like(meta)
    images = [scene(80, 60, s) for s in range(3)]
    want = Predictor(model, meta, device="cpu").predict(images)
    have = _eager(trained_like(meta), meta).predict(images)
    assert want == have


def test_compiled_detector_answers_like_pytorch() -> None:
    meta = det_meta("fcos")
    images = [scene(200, 150, 4)]
    want = Predictor(trained_like(meta), meta, device="cpu").predict(images, threshold=0.05)
    have = _eager(trained_like(meta), meta).predict(images, threshold=0.05)
    assert len(have[0]["detections"]) == len(want[0]["detections"]) > 0
    for a, b in zip(want[0]["detections"], have[0]["detections"], strict=True):
        assert a["label"] == b["label"] and abs(a["score"] - b["score"]) <= 2e-4


def test_a_compiled_profile_artifact_loads_back(tmp_path: Path) -> None:
    meta = cls_meta()
    model = trained_like(meta)
    artifact = compiled_artifact(model, meta, "fp16")
    assert artifact["meta"]["engine"] == TORCH_COMPILE
    assert all(
        v.dtype == torch.float16 for v in artifact["state_dict"].values() if v.is_floating_point()
    )
    store = open_store(tmp_path.as_uri())
    save_torch(store, "model.pt", artifact)
    runtime = load_runtime(store.uri("model.pt"))
    if not torch.cuda.is_available():
        assert isinstance(runtime, Predictor)  # plain fp32 PyTorch where there is no GPU
    (result,) = runtime.predict([Image.new("RGB", (64, 64), (200, 20, 20))])
    assert result["predictions"][0]["label"] in meta["classes"]
