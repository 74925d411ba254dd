"""Detection step times on this machine: training step and batch-1 eval latency per architecture.

Each detector from ``autolearn.models.detection`` is built on the same zoo backbone (lite0 FPN by
default, ImageNet weights) and fed synthetic images of ``--size`` px with three random boxes each.
A training step is forward + loss + backward + SGD step on a batch of ``--batch`` images; after
``--warmup`` steps the median of ``--steps`` is reported. Eval latency is a no-grad forward of one
image (transform, backbone, head, box decoding and NMS), median of ``--eval-steps``.

The machine is shared: the load average is recorded at start and end, and the numbers are only
comparable within one run. Eval latency of an untrained model is a rough guide, because how many
boxes pass the score threshold (and so the cost of NMS) changes with training.

Usage::

    .venv/bin/python bench/detection_step.py                       # all four at 320 px
    .venv/bin/python bench/detection_step.py --archs fcos ssdlite --size 512 --steps 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

from autolearn.models.detection import DETECTORS, build_detector, to_model_targets
from autolearn.models.zoo import resolve_name
from common import REPO, load_average, machine_info, write_json

DEFAULT_OUT = REPO / "bench" / "results" / "detection_step.json"
NUM_CLASSES = 4  # e.g. the tableware preset: plate, cup, bowl, saucer
BOXES_PER_IMAGE = 3


def synthetic_batch(
    n: int, size: int, gen: torch.Generator
) -> tuple[list[torch.Tensor], list[dict[str, torch.Tensor]]]:
    """``n`` random images with ``BOXES_PER_IMAGE`` random boxes (10–60 % of the side) each."""
    images = [torch.rand(3, size, size, generator=gen) for _ in range(n)]
    targets = []
    for _ in range(n):
        wh = (0.1 + 0.5 * torch.rand(BOXES_PER_IMAGE, 2, generator=gen)) * size
        xy = torch.rand(BOXES_PER_IMAGE, 2, generator=gen) * (size - wh)
        boxes = torch.cat([xy, xy + wh], dim=1)
        labels = torch.randint(0, NUM_CLASSES, (BOXES_PER_IMAGE,), generator=gen)
        targets.append({"boxes": boxes, "labels": labels})
    return images, targets


def _params(model: torch.nn.Module) -> tuple[float, float]:
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return total / 1e6, trainable / 1e6


def bench_arch(arch: str, args: argparse.Namespace) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    if args.fpn_channels is not None and arch != "ssdlite":
        overrides["fpn_channels"] = args.fpn_channels
    if args.frozen_levels is not None:
        overrides["frozen_levels"] = args.frozen_levels
    torch.manual_seed(0)
    model = build_detector(
        arch, args.backbone, NUM_CLASSES, args.size, pretrained=not args.random_init, **overrides
    )
    gen = torch.Generator().manual_seed(0)
    images, targets = synthetic_batch(args.batch, args.size, gen)
    model_targets = to_model_targets(model, targets)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=0.005, momentum=0.9, weight_decay=1e-4)

    model.train()
    times: list[float] = []
    losses: list[float] = []
    for i in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        loss_dict = model(images, model_targets)
        loss = sum(loss_dict.values())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        elapsed = time.perf_counter() - t0
        if i >= args.warmup:
            times.append(elapsed)
            losses.append(float(loss.detach()))

    model.eval()
    one = [images[0]]
    latencies: list[float] = []
    detections = 0
    with torch.no_grad():
        for i in range(2 + args.eval_steps):
            t0 = time.perf_counter()
            out = model(one)
            elapsed = time.perf_counter() - t0
            if i >= 2:
                latencies.append(elapsed)
                detections = len(out[0]["boxes"])
    total_m, trainable_m = _params(model)
    step = statistics.median(times)
    return {
        "arch": arch,
        "params_m": round(total_m, 2),
        "trainable_params_m": round(trainable_m, 2),
        "backbone_out_channels": getattr(model.backbone, "out_channels", None),
        "train_step_s": round(step, 3),
        "train_step_s_all": [round(t, 3) for t in times],
        "train_img_per_s": round(args.batch / step, 2),
        "final_loss": round(losses[-1], 3) if losses else None,
        "eval_latency_ms": round(1000 * statistics.median(latencies), 1),
        "eval_latency_ms_all": [round(1000 * t, 1) for t in latencies],
        "eval_detections": detections,
    }


def print_table(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(
        f"\n{resolve_name(args.backbone)} @ {args.size} px, train batch {args.batch}, eval batch 1"
    )
    head = f"{'arch':<11}{'params M':>9}{'train M':>9}{'step s':>8}{'img/s':>7}{'eval ms':>9}"
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['arch']:<11}{r['params_m']:>9.2f}{r['trainable_params_m']:>9.2f}"
            f"{r['train_step_s']:>8.2f}{r['train_img_per_s']:>7.2f}{r['eval_latency_ms']:>9.1f}"
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--archs", nargs="+", default=["ssdlite", "fcos", "retinanet", "fasterrcnn"])
    p.add_argument("--size", type=int, default=320, help="input side in px (multiple of 32)")
    p.add_argument("--steps", type=int, default=5, help="measured training steps (median)")
    p.add_argument("--warmup", type=int, default=2, help="unmeasured training steps first")
    p.add_argument("--eval-steps", type=int, default=10, help="measured batch-1 eval forwards")
    p.add_argument("--batch", type=int, default=4, help="training batch size")
    p.add_argument("--backbone", default="tf_efficientnet_lite0.in1k")
    p.add_argument("--fpn-channels", type=int, default=None, help="default: per backbone")
    p.add_argument("--frozen-levels", type=int, default=None, help="default: the builder's (2)")
    p.add_argument("--random-init", action="store_true", help="skip the ImageNet weights")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = p.parse_args(argv)
    unknown = [a for a in args.archs if a not in DETECTORS]
    if unknown:
        p.error(f"unknown arch {', '.join(unknown)}; choose from {', '.join(DETECTORS.names())}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    info = machine_info()
    rows = []
    for arch in args.archs:
        row = bench_arch(arch, args)
        print(f"{arch}: step {row['train_step_s']:.2f} s, eval {row['eval_latency_ms']:.0f} ms")
        rows.append(row)
    print_table(rows, args)
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    result = {
        "benchmark": "detection_step",
        "machine": info,
        "load_average_end": load_average(),
        "settings": {**settings, "num_classes": NUM_CLASSES, "boxes_per_image": BOXES_PER_IMAGE},
        "results": rows,
        "notes": "synthetic images; SGD step included; eval latency on an untrained model "
        "(NMS cost depends on how many boxes pass score_thresh)",
    }
    write_json(args.out, result)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
