"""ONNX and TorchScript export: the exported graphs predict what the PyTorch model
predicts (boxes, scores and labels of a detector within a stated tolerance, class
probabilities of a classifier), at any batch size, with the metadata a consumer needs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from autolearn.optimize.detection_graph import ExportError, RawDetector
from autolearn.optimize.export import read_metadata, to_onnx, to_torchscript
from autolearn.serving.onnx_predictor import OnnxPredictor
from autolearn.serving.predictor import Predictor, build_model

# Stated tolerance of the detection export: ONNX Runtime and PyTorch differ in float
# summation order only, so boxes agree within 0.05 px of the original image and scores
# within 1e-4.
BOX_TOL_PX = 0.05
SCORE_TOL = 1e-4


def scene(width: int, height: int, seed: int) -> Image.Image:
    """A fixture photo stand-in: coloured discs and rectangles on a textured table."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(90, 160, size=(height, width, 3), dtype=np.uint8)
    image = Image.fromarray(pixels)
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y = int(rng.integers(0, width - 40)), int(rng.integers(0, height - 40))
        r = int(rng.integers(10, 40))
        fill = tuple(int(v) for v in rng.integers(0, 255, 3))
        draw.ellipse((x, y, x + r, y + r), fill=fill)
        draw.rectangle((width - x - r, y, width - x, y + r // 2), outline=fill, width=3)
    return image


def det_meta(arch: str, size: int = 128) -> dict[str, Any]:
    return {
        "scenario": "detection",
        "arch": arch,
        "model": "test_tiny",
        "classes": ["cup", "plate", "bowl"],
        "input_size": size,
        "mean": [0.5, 0.5, 0.5],
        "std": [0.5, 0.5, 0.5],
        # a low floor so that an untrained network still yields many boxes to compare
        "detector_options": {"score_thresh": 0.02},
        "score_thresholds": {"cup": 0.3, "plate": 0.5, "bowl": 0.4},
    }


def cls_meta() -> dict[str, Any]:
    return {
        "scenario": "classification",
        "arch": None,
        "model": "test_tiny",
        "classes": ["ant", "bee", "cat"],
        "input_size": 64,
        "mean": [0.485, 0.456, 0.406],
        "std": [0.229, 0.224, 0.225],
    }


def trained_like(meta: dict[str, Any], seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = build_model(meta).eval()
    with torch.no_grad():  # spread the untrained head's scores so that ranks are distinct
        for name, p in model.named_parameters():
            if "cls_logits" in name or "classification" in name:
                p.normal_(0.0, 0.3)
    return model


@pytest.mark.parametrize("arch", ["fcos", "ssdlite", "retinanet"])
def test_detection_onnx_matches_pytorch_within_tolerance(tmp_path: Path, arch: str) -> None:
    meta = det_meta(arch)
    model = trained_like(meta)
    path = tmp_path / "det.onnx"
    embedded = to_onnx(model, meta, path)
    assert embedded["postprocess"]["arch"] == arch
    images = [scene(320, 240, 1), scene(200, 300, 2), scene(128, 128, 3)]
    expected = Predictor(model, meta, device="cpu").predict(images, threshold=0.05)
    got = OnnxPredictor.from_file(path, threads=1).predict(images, threshold=0.05)
    compared = 0
    for want, have in zip(expected, got, strict=True):
        assert len(have["detections"]) == len(want["detections"])
        for a, b in zip(want["detections"], have["detections"], strict=True):
            assert a["label"] == b["label"]
            assert abs(a["score"] - b["score"]) <= SCORE_TOL + 1e-4  # results round to 1e-4
            assert np.allclose(a["box"], b["box"], atol=BOX_TOL_PX + 0.05)  # rounded to 0.1
            compared += 1
    assert compared >= 10, "the fixture must exercise real boxes"


def test_detection_raw_outputs_match_at_several_batch_sizes(tmp_path: Path) -> None:
    meta = det_meta("fcos")
    model = trained_like(meta)
    path = tmp_path / "det.onnx"
    to_onnx(model, meta, path)
    raw = RawDetector(model, 128).eval()
    onnx_model = OnnxPredictor.from_file(path, threads=1)
    for n in (1, 3):
        x = torch.rand(n, 3, 128, 128)
        with torch.no_grad():
            boxes, scores = raw(x)
        o_boxes, o_scores = onnx_model.run(x.numpy())
        assert o_boxes.shape == (n, boxes.shape[1], 4)
        assert np.abs(o_boxes - boxes.numpy()).max() <= BOX_TOL_PX
        assert np.abs(o_scores - scores.numpy()).max() <= SCORE_TOL


def test_classification_onnx_matches_and_carries_metadata(tmp_path: Path) -> None:
    meta = cls_meta()
    model = trained_like(meta)
    path = tmp_path / "cls.onnx"
    to_onnx(model, meta, path)
    found = read_metadata(path)
    assert found["classes"] == ["ant", "bee", "cat"]
    assert found["mean"] == meta["mean"] and found["input_size"] == 64
    import onnx

    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert json.loads(props["labels"]) == ["ant", "bee", "cat"]
    assert "centre crop" in props["preprocess"]
    images = [scene(90, 70, s) for s in range(5)]
    want = Predictor(model, meta, device="cpu").predict(images, top_k=3)
    have = OnnxPredictor.from_file(path, threads=1).predict(images, top_k=3)
    for a, b in zip(want, have, strict=True):
        assert [p["label"] for p in a["predictions"]] == [p["label"] for p in b["predictions"]]
        for pa, pb in zip(a["predictions"], b["predictions"], strict=True):
            assert abs(pa["score"] - pb["score"]) <= 2e-4


def test_onnx_without_metadata_is_refused_by_name(tmp_path: Path) -> None:
    meta = cls_meta()
    path = tmp_path / "plain.onnx"
    torch.onnx.export(trained_like(meta), (torch.rand(1, 3, 64, 64),), str(path), dynamo=False)
    with pytest.raises(ValueError, match=r"plain\.onnx has no autolearn metadata"):
        OnnxPredictor.from_file(path)


def test_two_stage_detector_export_is_refused_with_the_alternative() -> None:
    meta = det_meta("fasterrcnn")
    model = build_model(meta).eval()
    with pytest.raises(ExportError, match="fcos, retinanet or ssdlite"):
        RawDetector(model, 128)


def test_torchscript_keeps_the_metadata_and_predicts_the_same(tmp_path: Path) -> None:
    meta = cls_meta()
    model = trained_like(meta)
    path = tmp_path / "model.torchscript.pt"
    to_torchscript(model, meta, path)
    extra = {"meta.json": ""}
    loaded = torch.jit.load(str(path), _extra_files=extra)
    assert json.loads(extra["meta.json"])["classes"] == meta["classes"]
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(loaded(x), model(x), atol=1e-5)
