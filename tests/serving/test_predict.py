"""Prediction with a trained task's model: preprocessing as in training, boxes back in the
original image's pixels, per-class thresholds, top-k, and the ``autolearn predict`` command.

No training here: model files are written by hand from untrained ``test_tiny`` networks, with
head biases set so that the outputs are known, or a stub detector with fixed outputs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image
from torch import nn
from typer.testing import CliRunner

from autolearn.cli.main import app
from autolearn.serving.draw import output_name
from autolearn.serving.predictor import Predictor, read_image, unletterbox
from autolearn.tasks.service import TaskError, TaskNotFoundError

runner = CliRunner()
SIZE = 128
DET_CLASSES = ["cup", "plate"]
CLS_CLASSES = ["ant", "bee", "cat"]


def det_meta(**overrides: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "scenario": "detection",
        "arch": "fcos",
        "model": "test_tiny",
        "classes": DET_CLASSES,
        "input_size": SIZE,
        "mean": [0.5, 0.5, 0.5],
        "std": [0.5, 0.5, 0.5],
        "epoch": 1,
        "metrics": {},
        "score_thresholds": {"cup": 0.3, "plate": 0.8},
    }
    return {**meta, **overrides}


def cls_meta() -> dict[str, Any]:
    return {
        "scenario": "classification",
        "arch": None,
        "model": "test_tiny",
        "classes": CLS_CLASSES,
        "input_size": 64,
        "mean": [0.485, 0.456, 0.406],
        "std": [0.229, 0.224, 0.225],
        "epoch": 1,
        "metrics": {},
    }


def write_model(folder: Path, state_dict: dict[str, torch.Tensor], meta: dict[str, Any]) -> str:
    """A task output folder holding ``model/model.pt``; returns the folder's URI."""
    from autolearn.storage import open_store
    from autolearn.tasks.results import MODEL_KEY
    from autolearn.training.callbacks.checkpoint import save_torch

    uri = folder.as_uri()
    save_torch(open_store(uri), MODEL_KEY, {"state_dict": state_dict, "meta": meta})
    return uri


def detector_state(cup_bias: float = 4.0) -> dict[str, torch.Tensor]:
    """An untrained FCOS whose head says "cup" everywhere (score ≈ 0.7) and never "plate"."""
    from autolearn.models.detection import build_detector

    torch.manual_seed(0)
    model = build_detector("fcos", "test_tiny", len(DET_CLASSES), SIZE, pretrained=False)
    state = model.state_dict()
    state["head.classification_head.cls_logits.bias"] = torch.tensor([cup_bias, -10.0])
    return state


def classifier_state() -> dict[str, torch.Tensor]:
    """An untrained classifier whose bias ranks bee > cat > ant on any image."""
    from autolearn.models.classification import build_classifier

    torch.manual_seed(0)
    state = build_classifier("test_tiny", len(CLS_CLASSES), pretrained=False).state_dict()
    state["classifier.bias"] = torch.tensor([0.0, 2.0, 1.0])
    return state


def make_task(output_uri: str, status: str = "SUCCEED", scenario: str = "detection") -> int:
    from autolearn.db import Task, session_scope

    with session_scope() as s:
        task = Task(
            name="t",
            scenario=scenario,
            region="local",
            status=status,
            spec={},
            output_uri=output_uri,
        )
        s.add(task)
        s.flush()
        return task.id


def invoke(*args: str) -> tuple[int, str, str]:
    """Exit code, stdout alone (for JSON), and stdout + stderr."""
    result = runner.invoke(app, ["predict", *args])
    return result.exit_code, result.stdout, result.output


class StubDetector(nn.Module):
    """Eval outputs in letterboxed pixels, fixed: what the mapping and filters must handle."""

    def __init__(self, boxes: list[list[float]], scores: list[float], labels: list[int]) -> None:
        super().__init__()
        self.out = {
            "boxes": torch.tensor(boxes),
            "scores": torch.tensor(scores),
            "labels": torch.tensor(labels),
        }
        self.seen: list[tuple[int, ...]] = []

    def forward(self, images: list[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        self.seen.extend(tuple(x.shape) for x in images)
        return [dict(self.out) for _ in images]


# Letterboxed 128 × 128 input of a 200 × 100 image: scaled by 0.64 to 128 × 64, padded below.
STUB_BOXES = [
    [12.8, 6.4, 64.0, 32.0],  # cup 0.9 → [20, 10, 100, 50]
    [96.0, 48.0, 140.0, 100.0],  # cup 0.35, runs into the padding → clamped [150, 75, 200, 100]
    [0.0, 70.0, 10.0, 120.0],  # cup 0.95, wholly in the padding → dropped
    [0.0, 0.0, 64.0, 64.0],  # plate 0.6 (< plate's 0.8)
    [32.0, 0.0, 64.0, 32.0],  # cup 0.25 (< cup's 0.3)
]
STUB_SCORES = [0.9, 0.35, 0.95, 0.6, 0.25]
STUB_LABELS = [0, 0, 0, 1, 0]


@pytest.fixture
def stub_predictor() -> Predictor:
    stub = StubDetector(STUB_BOXES, STUB_SCORES, STUB_LABELS)
    return Predictor(stub, det_meta(), device="cpu")


def test_boxes_map_back_to_original_pixels_and_class_thresholds_filter(
    stub_predictor: Predictor,
) -> None:
    image = Image.new("RGB", (200, 100), (255, 255, 255))
    (result,) = stub_predictor.predict([image], ["wide.png"])
    assert stub_predictor.model.seen == [(3, SIZE, SIZE)]
    assert (result["image"], result["width"], result["height"]) == ("wide.png", 200, 100)
    assert result["detections"] == [
        {"label": "cup", "class_id": 0, "score": 0.9, "box": [20.0, 10.0, 100.0, 50.0]},
        {"label": "cup", "class_id": 0, "score": 0.35, "box": [150.0, 75.0, 200.0, 100.0]},
    ]


def test_letterbox_is_what_the_inverse_mapping_assumes(stub_predictor: Predictor) -> None:
    """The 200 × 100 image fills the top 128 × 64 of the input; the rest is padding."""
    x = stub_predictor.transform(Image.new("RGB", (200, 100), (255, 255, 255)))
    assert x.shape == (3, SIZE, SIZE)
    assert torch.all(x[:, :64, :] == 1.0)
    assert torch.allclose(x[:, 64:, :], torch.full_like(x[:, 64:, :], 114 / 255))
    tall = unletterbox(torch.tensor([[0.0, 0.0, 64.0, 128.0]]), 100, 200, SIZE)
    assert tall.tolist() == [[0.0, 0.0, 100.0, 200.0]]


def test_threshold_overrides_every_class_and_missing_classes_default(
    stub_predictor: Predictor,
) -> None:
    image = Image.new("RGB", (200, 100))
    (low,) = stub_predictor.predict([image], threshold=0.2)
    assert [d["score"] for d in low["detections"]] == [0.9, 0.6, 0.35, 0.25]
    assert low["image"] is None
    (high,) = stub_predictor.predict([image], threshold=0.95)
    assert high["detections"] == []
    untuned = Predictor(stub_predictor.model, det_meta(score_thresholds={"plate": 0.5}), "cpu")
    assert untuned.class_thresholds() == [0.5, 0.5]
    (result,) = untuned.predict([image])
    assert [(d["label"], d["score"]) for d in result["detections"]] == [
        ("cup", 0.9),
        ("plate", 0.6),
    ]


def test_detector_from_file_lowers_its_own_floor_for_a_low_threshold(tmp_path: Path) -> None:
    uri = write_model(tmp_path / "out", detector_state(), det_meta())
    predictor = Predictor.from_file(tmp_path / "out" / "model" / "model.pt", device="cpu")
    assert predictor.is_detection and predictor.model.score_thresh == 0.2
    image = Image.new("RGB", (96, 64), (90, 120, 150))
    predictor.predict([image], threshold=0.1)
    assert predictor.model.score_thresh == 0.1
    predictor.predict([image])  # tuned thresholds 0.3 and 0.8: the model's own 0.2 again
    assert predictor.model.score_thresh == 0.2
    (result,) = Predictor.from_file(f"{uri}/model/model.pt").predict([image])
    assert result["detections"] and {d["label"] for d in result["detections"]} == {"cup"}


def test_classification_top_k_order_and_probabilities(tmp_path: Path) -> None:
    write_model(tmp_path / "out", classifier_state(), cls_meta())
    predictor = Predictor.from_file(tmp_path / "out" / "model" / "model.pt", device="cpu")
    images = [Image.new("RGB", (80, 64), (200, 30, 30)), Image.new("RGB", (64, 96), (0, 0, 0))]
    two = predictor.predict(images, top_k=2)
    assert [p["label"] for p in two[0]["predictions"]] == ["bee", "cat"]
    assert (two[1]["width"], two[1]["height"]) == (64, 96)
    every = predictor.predict(images, top_k=10)
    for result in every:
        preds = result["predictions"]
        assert [p["class_id"] for p in preds] == [1, 2, 0]
        assert sum(p["score"] for p in preds) == pytest.approx(1.0, abs=1e-3)
        assert preds[0]["score"] > preds[1]["score"] > preds[2]["score"]


def test_images_are_read_upright_in_rgb(tmp_path: Path) -> None:
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to view
    Image.new("L", (200, 100), 128).save(path, exif=exif)
    image = read_image(path)
    assert image.mode == "RGB" and image.size == (100, 200)


def test_from_task_errors_say_what_to_do(autolearn_home: Path) -> None:
    with pytest.raises(TaskNotFoundError):
        Predictor.from_task(999)
    task_id = make_task((autolearn_home / "empty").as_uri(), status="FAILED")
    with pytest.raises(TaskError, match=r"no trained model yet \(status FAILED\).*resume"):
        Predictor.from_task(task_id)


def test_drawing_names_keep_png_and_tell_same_stems_apart() -> None:
    taken: set[str] = set()
    names = [output_name(Path(p), taken) for p in ("a/x.png", "b/x.png", "c/x.JPEG", "y.bmp")]
    assert names == ["x.png", "x-1.png", "x.jpg", "y.jpg"]


@pytest.fixture
def detection_task(autolearn_home: Path) -> int:
    return make_task(write_model(autolearn_home / "task-out", detector_state(), det_meta()))


def test_cli_detection_writes_json_and_one_drawing_per_image(
    detection_task: int, tmp_path: Path, make_image: Callable[..., Path]
) -> None:
    first = make_image(tmp_path / "in" / "a" / "shot.png", seed=1, size=(160, 96))
    second = make_image(tmp_path / "in" / "b" / "shot.png", seed=2, size=(72, 120))
    out, draw = tmp_path / "preds.json", tmp_path / "drawn"
    args = [str(detection_task), str(tmp_path / "in"), "--out", str(out), "--draw", str(draw)]
    code, stdout, output = invoke(*args, "--json")
    assert code == 0, output
    results = json.loads(stdout)
    assert json.loads(out.read_text()) == results
    assert [r["image"] for r in results] == [str(first), str(second)]
    for result, (w, h) in zip(results, [(160, 96), (72, 120)], strict=True):
        assert (result["width"], result["height"]) == (w, h)
        scores = [d["score"] for d in result["detections"]]
        assert scores and scores == sorted(scores, reverse=True) and min(scores) >= 0.3
        for d in result["detections"]:
            x1, y1, x2, y2 = d["box"]
            assert d["label"] == "cup" and 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h
    assert sorted(p.name for p in draw.iterdir()) == ["shot-1.png", "shot.png"]
    assert Image.open(draw / "shot.png").size == (160, 96)
    assert Image.open(draw / "shot-1.png").size == (72, 120)

    code, stdout, output = invoke(str(detection_task), str(first), "--threshold", "0.99", "--json")
    assert code == 0, output
    assert json.loads(stdout)[0]["detections"] == []


def test_cli_classification_table_top_k_and_drawing(
    autolearn_home: Path, tmp_path: Path, make_image: Callable[..., Path]
) -> None:
    uri = write_model(autolearn_home / "cls-out", classifier_state(), cls_meta())
    task_id = make_task(uri, scenario="classification")
    image = make_image(tmp_path / "pic.jpg", size=(90, 64))
    out, draw = tmp_path / "p.json", tmp_path / "d"
    code, stdout, output = invoke(
        str(task_id), str(image), "--top-k", "2", "--draw", str(draw), "--out", str(out)
    )
    assert code == 0, output
    assert "bee" in stdout and "1 image(s)" in stdout
    (result,) = json.loads(out.read_text())
    assert [p["label"] for p in result["predictions"]] == ["bee", "cat"]
    assert [p.name for p in draw.iterdir()] == ["pic.jpg"]
    assert Image.open(draw / "pic.jpg").size == (90, 64)


def test_cli_corrupt_image_gets_an_error_entry_and_exit_1(
    detection_task: int, tmp_path: Path, make_image: Callable[..., Path]
) -> None:
    good = make_image(tmp_path / "good.png", size=(64, 64))
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a jpeg at all")
    out = tmp_path / "preds.json"
    code, _, output = invoke(str(detection_task), str(bad), str(good), "--out", str(out))
    assert code == 1 and "1 image(s) could not be read" in output
    results = json.loads(out.read_text())
    assert results[0]["image"] == str(bad) and "unreadable image" in results[0]["error"]
    assert "detections" in results[1] and "error" not in results[1]


def test_cli_missing_path_exits_2_naming_it_and_writes_nothing(
    detection_task: int, tmp_path: Path, make_image: Callable[..., Path]
) -> None:
    good = make_image(tmp_path / "good.png")
    missing = tmp_path / "nope.jpg"
    out = tmp_path / "preds.json"
    code, _, output = invoke(str(detection_task), str(good), str(missing), "--out", str(out))
    assert code == 2 and "error:" in output and str(missing) in "".join(output.split())
    assert not out.exists()


def test_cli_unknown_task_and_task_without_model_exit_2(
    autolearn_home: Path, tmp_path: Path, make_image: Callable[..., Path]
) -> None:
    image = str(make_image(tmp_path / "x.png"))
    code, _, output = invoke("4242", image)
    assert code == 2 and "task 4242 does not exist" in output
    running = make_task((autolearn_home / "none").as_uri(), status="RUNNING")
    code, _, output = invoke(str(running), image)
    assert code == 2 and "no trained model yet" in output
