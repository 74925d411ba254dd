"""Optimisation profiles: the form's target (CPU or a GPU model) × level (NO_LOSS, FP16,
INT8) → the engine that runs it here, and why. The choice depends on what this worker has
(a CUDA device; ONNX Runtime's TensorRT or CUDA provider), so the report can say which
engine was used and what would have been chosen on a better-equipped machine.

| target | level   | engine                                                          |
|--------|---------|-----------------------------------------------------------------|
| cpu    | NO_LOSS | ONNX Runtime CPU, fp32 graph optimisations                       |
| cpu    | INT8    | ONNX Runtime CPU, static INT8 QDQ (calibrated)                   |
| cpu    | FP16    | refused: no fast fp16 kernels on x86 CPUs                         |
| gpu-*  | NO_LOSS | TensorRT / CUDA provider fp32, else torch.compile + CUDA graphs  |
| gpu-*  | FP16    | TensorRT / CUDA provider fp16, else torch.compile + CUDA graphs, fp16 |
| gpu-*  | INT8    | TensorRT provider INT8 (calibrated); refused without TensorRT     |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from autolearn.optimize.errors import ProfileError

Target = Literal["cpu", "gpu-t4", "gpu-v100", "gpu-a10"]
Level = Literal["NO_LOSS", "FP16", "INT8"]
TARGETS: tuple[str, ...] = ("cpu", "gpu-t4", "gpu-v100", "gpu-a10")
LEVELS: tuple[str, ...] = ("NO_LOSS", "FP16", "INT8")

ORT_CPU = "onnxruntime-cpu"
ORT_TRT = "onnxruntime-tensorrt"
ORT_CUDA = "onnxruntime-cuda"
TORCH_COMPILE = "torch-compile-cudagraphs"


@dataclass(frozen=True)
class Profile:
    target: str
    level: str

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ProfileError(
                f"unknown target {self.target!r}; choose one of {', '.join(TARGETS)}"
            )
        if self.level not in LEVELS:
            raise ProfileError(f"unknown level {self.level!r}; choose one of {', '.join(LEVELS)}")
        if self.target == "cpu" and self.level == "FP16":
            raise ProfileError(
                "FP16 is a GPU level: x86 CPUs have no fast fp16 kernels in ONNX Runtime; "
                "for the CPU choose NO_LOSS (fp32 graph) or INT8"
            )

    @property
    def id(self) -> str:
        """``cpu-int8``, ``gpu-t4-fp16``: the folder under ``optimized/``."""
        return f"{self.target}-{self.level}".lower()

    @property
    def gpu(self) -> bool:
        return self.target != "cpu"

    @property
    def precision(self) -> str:
        return {"NO_LOSS": "fp32", "FP16": "fp16", "INT8": "int8"}[self.level]


@dataclass(frozen=True)
class Engine:
    name: str
    precision: str
    reason: str


def choose_engine(profile: Profile, cuda: bool, providers: list[str]) -> Engine:
    """The engine for ``profile`` on a worker with (``cuda``) a CUDA device and ONNX
    Runtime ``providers``; ``ProfileError`` saying what is missing when none fits."""
    if not profile.gpu:
        if profile.level == "INT8":
            why = (
                "static INT8 (QDQ, per-channel weights, MinMax-calibrated activations) in ONNX "
                "Runtime: dynamic INT8 measured 10x slower than fp32 on these conv nets"
            )
            return Engine(ORT_CPU, "int8", why)
        why = "ONNX Runtime fp32 with full graph optimisation (conv+BN+activation fused)"
        return Engine(ORT_CPU, "fp32", why)
    if not cuda:
        raise ProfileError(
            f"target {profile.target} needs a CUDA GPU on the worker that optimises (latency "
            f"and the accuracy gate are measured on the GPU they promise); this worker has "
            f"none: run the task on a gpu-* resource spec, or choose target cpu"
        )
    if "TensorrtExecutionProvider" in providers:
        why = f"ONNX Runtime's TensorRT provider is installed: TensorRT {profile.precision}"
        return Engine(ORT_TRT, profile.precision, why)
    if profile.level == "INT8":
        raise ProfileError(
            "INT8 on a GPU needs TensorRT (onnxruntime-gpu with the TensorRT provider); "
            "it is not installed here: choose FP16"
        )
    if "CUDAExecutionProvider" in providers:
        why = f"ONNX Runtime's CUDA provider is installed (no TensorRT): {profile.precision}"
        return Engine(ORT_CUDA, profile.precision, why)
    why = (
        "no GPU provider in ONNX Runtime here (only the CPU one): torch.compile "
        f"(mode reduce-overhead, CUDA graphs) at {profile.precision}"
    )
    return Engine(TORCH_COMPILE, profile.precision, why)


def engine_here(profile: Profile) -> Engine:
    """``choose_engine`` for this process's machine (its CUDA device, ONNX Runtime's
    providers); torch and onnxruntime are imported only when asked."""
    import onnxruntime as ort
    import torch

    return choose_engine(profile, torch.cuda.is_available(), ort.get_available_providers())
