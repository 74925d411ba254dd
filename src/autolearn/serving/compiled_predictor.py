"""The GPU engine for a worker whose ONNX Runtime has no GPU provider (the PyPI
``onnxruntime`` wheel is CPU-only): the PyTorch model in fp16 (or fp32), compiled with
``torch.compile(mode="reduce-overhead")``, which captures CUDA graphs so that a batch-1
call is one graph launch instead of hundreds of kernel launches from Python.

A detector is compiled as its ``RawDetector`` graph (static shapes, no Python loops) and
post-processed on the host like the ONNX model; results match ``Predictor``'s.
Artifacts are ``model.pt`` files whose metadata says ``engine: torch-compile-cudagraphs``
and ``precision``; without a CUDA device they load as a plain fp32 ``Predictor``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from autolearn.serving.predictor import BATCH_SIZE, BasePredictor


class CompiledPredictor(BasePredictor):
    """``predict`` / ``logits`` / ``raw_detections`` through a compiled module."""

    def __init__(
        self,
        model: nn.Module,
        meta: dict[str, Any],
        device: str = "cuda",
        half: bool = True,
        mode: str | None = "reduce-overhead",
        backend: str = "inductor",
        batch_size: int = BATCH_SIZE,
    ) -> None:
        super().__init__(meta, batch_size)
        self.device = torch.device(device)
        self.dtype = torch.float16 if half else torch.float32
        module: nn.Module = model.eval()
        if self.is_detection:
            from autolearn.optimize.detection_graph import RawDetector

            module = RawDetector(model, self.input_size).eval()
            self.meta = {**meta, "postprocess": module.postprocess_meta()}
        self.module = module.to(self.device, self.dtype)
        self.graph = torch.compile(self.module, mode=mode, backend=backend, dynamic=False)

    def _run(self, batch: torch.Tensor) -> Any:
        with torch.inference_mode():
            return self.graph(batch.to(self.device, self.dtype))

    def logits(self, batch: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self._run(batch)
        return out.float().cpu()

    def raw_detections(
        self, images: list[torch.Tensor], floor: float
    ) -> list[dict[str, torch.Tensor]]:
        from autolearn.optimize.detection_graph import postprocess

        boxes, scores = self._run(torch.stack(images))
        post = self.meta["postprocess"]
        return postprocess(boxes.float().cpu(), scores.float().cpu(), post, floor)


def compiled_artifact(model: nn.Module, meta: dict[str, Any], precision: str) -> dict[str, Any]:
    """What ``torch.save`` writes for a compiled profile: the weights at ``precision``
    and the metadata saying how to run them."""
    dtype = torch.float16 if precision == "fp16" else torch.float32
    state = {k: v.to(dtype) if v.is_floating_point() else v for k, v in model.state_dict().items()}
    engine_meta = {**meta, "engine": "torch-compile-cudagraphs", "precision": precision}
    return {"state_dict": state, "meta": engine_meta}


def load_compiled(saved: dict[str, Any]) -> BasePredictor:
    """A compiled profile's runtime: compiled on CUDA, or plain fp32 PyTorch without it."""
    from autolearn.serving.predictor import Predictor, build_model

    meta = saved["meta"]
    model = build_model(meta)
    model.load_state_dict(saved["state_dict"])  # copy_ casts fp16 weights back to fp32
    if not torch.cuda.is_available():
        return Predictor(model, meta, device="cpu")
    return CompiledPredictor(model, meta, half=meta.get("precision") == "fp16")
