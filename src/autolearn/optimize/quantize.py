"""Static INT8 quantisation with ONNX Runtime: QDQ format, weights per channel (signed),
activations per tensor (unsigned) with MinMax ranges from calibration images.

Why static and not dynamic: dynamic quantisation re-measures activations on every call and
was measured 10× slower than fp32 on these conv nets (DESIGN.md). Why only Conv / MatMul /
Gemm: they hold nearly all the arithmetic; the detector's box decoding (exp, products with
anchor sizes) stays fp32, where 8 bits would cost pixels of box precision.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from autolearn.optimize.export import read_metadata, write_metadata

QUANTISED_OPS = ["Conv", "MatMul", "Gemm"]


class _Batches:
    """ONNX Runtime's ``CalibrationDataReader``: one ``{"images": batch}`` per call."""

    def __init__(self, batches: Iterable[np.ndarray]) -> None:
        self._it: Iterator[np.ndarray] = iter(batches)
        self.count = 0

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self._it, None)
        if batch is None:
            return None
        self.count += 1
        return {"images": np.ascontiguousarray(batch, dtype=np.float32)}

    def rewind(self) -> None:  # MinMax reads the data once
        pass


def quantize_int8(
    fp32: Path, out: Path, batches: Iterable[np.ndarray], exclude: list[str] | None = None
) -> dict[str, Any]:
    """Write the INT8 model of ``fp32`` to ``out``; the metadata is carried over with
    ``precision`` and the calibration size added. ``exclude`` names nodes kept in fp32."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    meta = read_metadata(fp32)
    reader = _Batches(batches)
    CalibrationDataReader.register(_Batches)
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(fp32), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared),
            str(out),
            reader,
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            op_types_to_quantize=QUANTISED_OPS,
            nodes_to_exclude=exclude or [],
        )
    if reader.count == 0:
        raise ValueError("no calibration images: the training split gave none")
    full = {**meta, "precision": "int8", "calibration_batches": reader.count}
    write_metadata(out, full)
    return full
