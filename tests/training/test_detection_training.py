"""The shared trainer trains a real detector: tiny FCOS on a lite0 FPN learns generated
tableware scenes well past what an untrained model (chance) scores."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from autolearn.datasets.formats.base import Box
from autolearn.datasets.samples.tableware import generate_scene
from autolearn.models.detection import build_detector
from autolearn.training.callbacks import StopReason
from autolearn.training.detection import DetectionOps
from autolearn.training.detection_data import (
    DetectionDataset,
    DetectionSample,
    collate,
    eval_transform,
    train_transform,
)
from autolearn.training.loop import LoopContext, evaluate
from autolearn.training.trainer import Trainer, param_groups, warmup_cosine

pytestmark = pytest.mark.slow
CLASSES = ["plate", "bowl", "cup", "saucer"]
SIZE = 160


def _scenes(seed: int, n: int) -> list[DetectionSample]:
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(n):
        image, anns = generate_scene(rng, 192, 144)
        boxes = tuple(Box(a["label"], *a["bbox"]) for a in anns)
        labels = tuple(CLASSES.index(b.label) for b in boxes)
        samples.append(DetectionSample(lambda im=image: im, boxes, labels))
    return samples


def test_fcos_learns_tableware_scenes_far_above_chance() -> None:
    torch.manual_seed(0)
    train = DataLoader(
        DetectionDataset(_scenes(0, 64), train_transform(SIZE)),
        batch_size=8,
        shuffle=True,
        collate_fn=collate,
        generator=torch.Generator(),
    )
    val = DataLoader(
        DetectionDataset(_scenes(1, 24), eval_transform(SIZE)),
        batch_size=8,
        collate_fn=collate,
    )
    model = build_detector("fcos", "tf_efficientnet_lite0.in1k", len(CLASSES), SIZE)
    model = model.to(memory_format=torch.channels_last)
    ctx = LoopContext(torch.device("cpu"))
    ops = DetectionOps(len(CLASSES), CLASSES)
    chance, _ = evaluate(model, val, ops, ctx)  # the untrained head: no better than chance
    epochs = 8
    opt = torch.optim.AdamW(param_groups(model, 0.05), lr=1e-3)
    sched = warmup_cosine(opt, len(train), epochs * len(train))
    result = Trainer(model, ops, opt, sched, train, val, ctx, epochs, monitor="map_50").fit()
    assert result.stop_reason is StopReason.COMPLETED
    assert result.best_metrics is not None
    assert chance["map_50"] < 0.05
    assert result.best_metrics["map_50"] > 0.15, result.history
    report = ops.metrics.report()
    assert [row["class"] for row in report["per_class"]] == CLASSES
