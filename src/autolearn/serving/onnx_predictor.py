"""Predictions from an exported or optimised ``.onnx`` with ONNX Runtime: the same
inputs, thresholds and results as ``Predictor`` (they share ``BasePredictor``), read from
the metadata the exporter embeds, so a published INT8 model answers like its PyTorch
original. Detection outputs go through ``optimize.detection_graph.postprocess``
(torchvision's own selection rules) on the host."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from autolearn.serving.predictor import BATCH_SIZE, BasePredictor

CPU = "CPUExecutionProvider"
# Preferred order where installed: TensorRT, then CUDA, then the CPU.
GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")


def session_options(threads: int | None) -> Any:
    """Full graph optimisation; ``threads`` caps intra-op threads (None: ORT's default,
    one per core)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        options.intra_op_num_threads = threads
    return options


def make_session(source: str | bytes, threads: int | None = None, gpu: bool = False) -> Any:
    """An ``InferenceSession`` on the CPU, or on the best GPU provider installed."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    providers = [p for p in GPU_PROVIDERS if gpu and p in available] + [CPU]
    return ort.InferenceSession(source, session_options(threads), providers=providers)


class OnnxPredictor(BasePredictor):
    """An ONNX model ready to predict; ``predict`` / ``predict_paths`` as ``Predictor``."""

    def __init__(self, session: Any, meta: dict[str, Any], batch_size: int = BATCH_SIZE) -> None:
        super().__init__(meta, batch_size)
        self.session = session
        self.providers: list[str] = list(session.get_providers())
        self._input = session.get_inputs()[0].name

    @classmethod
    def from_file(
        cls, path_or_uri: str | Path, threads: int | None = None, gpu: bool = False
    ) -> OnnxPredictor:
        """An ``.onnx`` written by ``autolearn task export`` / ``optimize``: a local path or
        a store URI (read into memory; ORT loads from bytes)."""
        from autolearn.optimize.export import read_metadata

        data = _read_bytes(str(path_or_uri))
        meta = read_metadata(data, str(path_or_uri))
        return cls(make_session(data, threads, gpu), meta)

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        """The raw graph outputs for a prepared batch (float32 NCHW)."""
        outputs: list[np.ndarray] = self.session.run(None, {self._input: batch})
        return outputs

    def logits(self, batch: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.run(batch.numpy().astype(np.float32, copy=False))[0])

    def raw_detections(
        self, images: list[torch.Tensor], floor: float
    ) -> list[dict[str, torch.Tensor]]:
        from autolearn.optimize.detection_graph import postprocess

        batch = torch.stack(images).numpy().astype(np.float32, copy=False)
        boxes, scores = self.run(batch)[:2]
        post = self.meta["postprocess"]
        return postprocess(torch.from_numpy(boxes), torch.from_numpy(scores), post, floor)


def _read_bytes(path_or_uri: str) -> bytes:
    if "://" not in path_or_uri:
        path = Path(path_or_uri).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"model file {path_or_uri} does not exist")
        return path.read_bytes()
    from autolearn.storage import open_store

    parent, _, name = path_or_uri.rpartition("/")
    return open_store(parent).get_bytes(name)
