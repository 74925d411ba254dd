"""FP16 ONNX for GPU targets: weights and arithmetic in half precision, inputs and outputs
kept float32 (``keep_io_types``) so that callers and the metadata do not change. Runs on
ONNX Runtime's CUDA or TensorRT provider; the accuracy gate measures it there."""

from __future__ import annotations

from pathlib import Path

from autolearn.optimize.export import read_metadata, write_metadata


def to_fp16(fp32: Path, out: Path) -> None:
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    meta = read_metadata(fp32)
    half = convert_float_to_float16(onnx.load(str(fp32)), keep_io_types=True)
    onnx.save(half, str(out))
    write_metadata(out, {**meta, "precision": "fp16"})
