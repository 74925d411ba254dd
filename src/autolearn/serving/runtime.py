"""One entry point for whatever a model artifact is: a task's ``model.pt`` (PyTorch,
``Predictor``) or an exported/optimised ``.onnx`` (ONNX Runtime, ``OnnxPredictor``).
Services, batch prediction and the API load models through ``load_runtime`` and use only
the ``Runtime`` protocol, so a published INT8 model and a PyTorch one serve the same way."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from PIL import Image

Result = dict[str, Any]


class Runtime(Protocol):
    """A loaded model. ``predict`` returns one JSON-ready result per image, in order, in
    the shapes ``serving.predictor`` documents (classes with scores, or boxes)."""

    meta: dict[str, Any]
    classes: list[str]
    kind: str  # "classification" | "detection"
    batch_size: int

    @property
    def is_detection(self) -> bool: ...

    def predict(
        self,
        images: Sequence[Image.Image],
        names: Sequence[str | None] | None = None,
        *,
        threshold: float | None = None,
        top_k: int = 5,
    ) -> list[Result]: ...

    def iter_paths(
        self, paths: Sequence[Path], *, threshold: float | None = None, top_k: int = 5
    ) -> Iterator[tuple[Path, Image.Image | None, Result]]: ...


def load_runtime(uri: str, *, threads: int | None = None) -> Runtime:
    """The runtime for a model file (local path or store URI): ``.onnx`` → ONNX Runtime,
    anything else is read as an autolearn ``model.pt`` (a GPU profile's compiled one runs
    through ``CompiledPredictor`` on CUDA). ``threads`` caps ONNX Runtime's
    intra-op threads (services share the machine with each other)."""
    if uri.lower().endswith(".onnx"):
        from autolearn.serving.onnx_predictor import OnnxPredictor

        return OnnxPredictor.from_file(uri, threads=threads)
    from autolearn.serving.predictor import Predictor, _as_uri
    from autolearn.training.runner import load_model_file

    saved = load_model_file(_as_uri(uri))
    meta = saved.get("meta") if isinstance(saved, dict) else None
    if isinstance(meta, dict) and meta.get("engine") == "torch-compile-cudagraphs":
        from autolearn.serving.compiled_predictor import load_compiled

        return load_compiled(saved)
    return Predictor.from_saved(saved, uri)
