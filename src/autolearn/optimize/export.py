"""Export a trained model: ONNX (dynamic batch, everything a consumer needs in the file's
metadata) and TorchScript, each with a model card.

ONNX inputs and outputs (``OnnxPredictor`` and any other runtime read the same metadata):

- classification: ``images`` float32 [N, 3, S, S], RGB resized so the short side is
  S / 0.875, centre-cropped to S, scaled to [0, 1] and normalised with ``mean``/``std``
  → ``logits`` [N, K] (softmax for probabilities);
- detection (FCOS, RetinaNet, SSDLite): ``images`` float32 [N, 3, S, S], RGB letterboxed
  (scaled to fit, padded right and bottom with grey 114), in [0, 1], *not* normalised (the
  graph does it) → ``boxes`` [N, A, 4] and ``scores`` [N, A, K]; non-maximum suppression as
  ``optimize.detection_graph.postprocess`` documents, then each class's ``score_thresholds``.

Metadata (``metadata_props``): ``autolearn`` = the whole model metadata as JSON, plus
``labels``, ``mean``, ``std``, ``input_size``, ``score_thresholds``, ``task`` and
``preprocess`` as plain keys for people reading the file with Netron or onnx.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from autolearn.optimize.detection_graph import RawDetector

log = logging.getLogger("autolearn.optimize")

OPSET = 17
PREPROCESS = {
    "classification": "RGB; resize short side to input_size/0.875 (bilinear); centre crop "
    "input_size; scale to [0,1]; normalise with mean/std; NCHW float32",
    "detection": "RGB; letterbox to input_size (scale to fit, pad right/bottom with 114); "
    "scale to [0,1]; NCHW float32 (the graph normalises)",
}


def export_module(model: nn.Module, meta: dict[str, Any]) -> tuple[nn.Module, dict[str, Any]]:
    """The module to export and the metadata to embed: a classifier as it is; a detector
    as its ``RawDetector`` graph, with the post-processing parameters added to ``meta``."""
    from autolearn.tasks.spec import kind_of

    if kind_of(meta["scenario"]) != "detection":
        return model.eval(), {**meta, "outputs": ["logits"]}
    raw = RawDetector(model, int(meta["input_size"])).eval()
    return raw, {**meta, "outputs": ["boxes", "scores"], "postprocess": raw.postprocess_meta()}


def to_onnx(model: nn.Module, meta: dict[str, Any], path: Path) -> dict[str, Any]:
    """Write ``model`` as ONNX to ``path`` with a dynamic batch axis; returns the embedded
    metadata. Uses the TorchScript-based exporter: it covers torchvision's detection ops
    and needs no network or extra compiler."""
    module, full_meta = export_module(model, meta)
    size = int(meta["input_size"])
    example = torch.rand(1, 3, size, size)
    outputs = full_meta["outputs"]
    axes = {name: {0: "batch"} for name in ["images", *outputs]}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about Python ints in torchvision
        torch.onnx.export(
            module,
            (example,),
            str(path),
            dynamo=False,
            opset_version=OPSET,
            input_names=["images"],
            output_names=outputs,
            dynamic_axes=axes,
        )
    model.eval()  # export restores the training flag of the wrapper it was given
    write_metadata(path, full_meta)
    return full_meta


def write_metadata(path: Path, meta: dict[str, Any]) -> None:
    """Embed ``meta`` in the ONNX file (replacing earlier autolearn keys)."""
    import onnx

    from autolearn.tasks.spec import kind_of

    graph = onnx.load(str(path))
    kind = kind_of(str(meta["scenario"]))
    plain = {
        "autolearn": json.dumps(meta, sort_keys=True),
        "task": kind,
        "labels": json.dumps(list(meta["classes"])),
        "input_size": str(meta["input_size"]),
        "mean": json.dumps(meta.get("mean")),
        "std": json.dumps(meta.get("std")),
        "score_thresholds": json.dumps(meta.get("score_thresholds") or {}),
        "preprocess": PREPROCESS[kind],
    }
    kept = [p for p in graph.metadata_props if p.key not in plain]
    del graph.metadata_props[:]
    graph.metadata_props.extend(kept)
    for key, value in plain.items():
        graph.metadata_props.add(key=key, value=value)
    graph.producer_name = "autolearn"
    onnx.save(graph, str(path))


def read_metadata(source: str | Path | bytes, name: str | None = None) -> dict[str, Any]:
    """The autolearn metadata of an ONNX model (a path, or the file's bytes) written by
    ``to_onnx`` or quantised from one; a ``ValueError`` naming it when it has none."""
    import onnx

    if isinstance(source, bytes):
        graph = onnx.load_model_from_string(source)
    else:
        graph = onnx.load(str(source), load_external_data=False)
    for prop in graph.metadata_props:
        if prop.key == "autolearn":
            found: dict[str, Any] = json.loads(prop.value)
            return found
    label = name or str(source) if not isinstance(source, bytes) else name or "the model"
    raise ValueError(f"{label} has no autolearn metadata: export it with `autolearn task export`")


def to_torchscript(model: nn.Module, meta: dict[str, Any], path: Path) -> None:
    """Script the model (detectors keep their whole torchvision forward, NMS included) and
    save it with the metadata as the extra file ``meta.json``."""
    scripted = torch.jit.script(model.eval())
    extra = {"meta.json": json.dumps(meta, sort_keys=True)}
    torch.jit.save(scripted, str(path), _extra_files=extra)
