"""Latency and throughput of a model, measured the same way for every engine: batch-1
latency percentiles over repeated single-image calls and images per second at batch 32,
after warm-up. The inputs are random (speed does not depend on pixel values for these
networks); the report states the thread count, since it decides CPU numbers."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

Run = Callable[[np.ndarray], Any]


@dataclass
class Speed:
    latency_p50_ms: float
    latency_p99_ms: float
    throughput_bs32: float  # images per second
    batch1_runs: int
    batch32_runs: int

    def as_dict(self) -> dict[str, Any]:
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(self).items()}


def measure(
    run: Run, input_size: int, *, seconds: float = 3.0, min_runs: int = 20, big_batch: int = 32
) -> Speed:
    """Time ``run`` (one prepared float32 NCHW batch → outputs)."""
    rng = np.random.default_rng(0)
    one = rng.random((1, 3, input_size, input_size), dtype=np.float32)
    big = rng.random((big_batch, 3, input_size, input_size), dtype=np.float32)
    for _ in range(3):
        run(one)
    latencies = _repeat(lambda: run(one), seconds, min_runs)
    run(big)
    big_times = _repeat(lambda: run(big), seconds, 3)
    return Speed(
        latency_p50_ms=float(np.percentile(latencies, 50) * 1000),
        latency_p99_ms=float(np.percentile(latencies, 99) * 1000),
        throughput_bs32=float(big_batch / np.median(big_times)),
        batch1_runs=len(latencies),
        batch32_runs=len(big_times),
    )


def _repeat(call: Callable[[], Any], seconds: float, min_runs: int) -> list[float]:
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(times) < min_runs or time.perf_counter() < deadline:
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
        if len(times) >= 10 * min_runs and time.perf_counter() >= deadline:
            break
    return times


def runtime_runner(runtime: Any) -> Run:
    """A ``BasePredictor`` from a prepared batch to its answers, post-processing included
    (a detector's NMS runs on the host for ONNX and inside torchvision for PyTorch, so both
    sides pay for it)."""
    import torch

    floor = float(runtime.meta.get("postprocess", {}).get("score_thresh", 0.05))
    cuda = torch.cuda.is_available()

    def run(batch: np.ndarray) -> Any:
        x = torch.from_numpy(batch)
        with torch.inference_mode():
            out = (
                runtime.raw_detections(list(x), floor)
                if runtime.is_detection
                else runtime.logits(x)
            )
        if cuda:  # the clock must see the GPU's work, not its queueing
            torch.cuda.synchronize()
        return out

    return run


def torch_runner(model: Any) -> Run:
    """A plain module (eager PyTorch) on the CPU."""
    import torch

    def run(batch: np.ndarray) -> Any:
        with torch.inference_mode():
            return model(torch.from_numpy(batch))

    return run
