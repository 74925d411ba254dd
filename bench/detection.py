"""Detection benchmark: time-to-mAP on real photos, through the platform as a user runs it.

Each run imports a real dataset into a throw-away AUTOLEARN_HOME, creates a task from a
TaskSpec and runs it in-process through the real worker entry
(``scheduler.worker.run_task``): plan, data pipeline, Trainer, callbacks, checkpoints,
report. Then the delivered (best) model's latency is measured at batch 1.

Runs (``--runs``, comma-separated):

* ``raccoon``: its CSV split (160 train / 40 val, kept as the fixed validation),
  scenario detection, preference balanced. Goal: mAP@0.5 ≥ 0.93 within 20 minutes of
  training.
* ``mealtray``: split by group (the runs of consecutive shot numbers in the file names,
  20 % of groups to validation, so near-duplicate shots never straddle the split),
  scenario tableware; mAP@0.5 overall and per class.
* ``sweep``: the preset measurement. Each candidate (architecture, backbone, input size)
  trains on raccoon for the same number of epochs (``--sweep-epochs``); the table
  pairs its mAP@0.5 with its CPU latency, which is what the preferences are chosen by.

On a CUDA machine the same runs use bf16 autocast (the runner's ``pick_device``).

Usage::

    .venv/bin/python bench/detection.py --runs raccoon,mealtray
    .venv/bin/python bench/detection.py --runs sweep --sweep-budget 360
"""

from __future__ import annotations

import argparse
import logging
import signal
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from autolearn.datasets.service import import_dataset
from autolearn.datasets.splitting import split_version
from autolearn.scheduler.worker import run_task
from autolearn.storage import open_store
from autolearn.tasks.results import REPORT_KEY
from autolearn.tasks.service import create_task, get_task, parse_spec, task_events
from common import REPO, load_average, machine_info, temporary_home, write_json

log = logging.getLogger("bench.detection")
DATASETS = REPO.parent / "shared" / "datasets"
GOAL_MAP50 = 0.93
GOAL_TRAIN_S = 20 * 60
SWEEP = [  # (arch, backbone, input size)
    ("ssdlite", "tf_efficientnet_lite0.in1k", 320),
    ("ssdlite", "tf_efficientnet_lite0.in1k", 384),
    ("ssdlite", "tf_efficientnet_lite1.in1k", 384),
    ("ssdlite", "tf_efficientnet_lite2.in1k", 448),
    ("fcos", "tf_efficientnet_lite0.in1k", 320),
    ("fcos", "tf_efficientnet_lite0.in1k", 384),
    ("retinanet", "tf_efficientnet_lite0.in1k", 384),
    ("fcos", "tf_efficientnet_lite1.in1k", 448),
    ("retinanet", "tf_efficientnet_lite1.in1k", 448),
]


def epoch_rows(task_id: int, metric: str) -> list[dict[str, Any]]:
    """Per-epoch validation metric and cumulative training seconds from the task's events."""
    rows, total = [], 0.0
    for event in task_events(task_id, kind="epoch"):
        data = event["data"]
        total += data.get("train_s") or 0.0
        rows.append(
            {
                "epoch": event["epoch"],
                metric: data["val"].get(metric),
                "map": data["val"].get("map"),
                "train_loss": data.get("train_loss"),
                "train_s": round(data.get("train_s") or 0.0, 2),
                "eval_s": round(data.get("eval_s") or 0.0, 2),
                "cumulative_train_s": round(total, 2),
                "train_images_per_s": data.get("train_images_per_s"),
            }
        )
    return rows


def latency_ms(task: dict[str, Any], repeats: int = 20) -> float:
    """Median batch-1 forward time of the delivered model at its input size (eval mode)."""
    from autolearn.training.detection_runner import build_plan_detector
    from autolearn.training.hparams import Plan
    from autolearn.training.runner import load_model_file

    plan = Plan.model_validate(task["plan"])
    model = build_plan_detector(plan, pretrained=False)
    saved = load_model_file(open_store(task["output_uri"]).uri("model/model.pt"))
    model.load_state_dict(saved["state_dict"])
    model.eval()
    image = torch.rand(3, plan.input_size, plan.input_size)
    times = []
    with torch.inference_mode():
        for i in range(repeats + 3):
            begin = time.perf_counter()
            model([image])
            if i >= 3:
                times.append((time.perf_counter() - begin) * 1000)
    return round(statistics.median(times), 1)


def run_one(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Create the task, run it through the worker entry, read back what it recorded."""
    task = create_task(parse_spec(spec))
    task_id = task["id"]
    log.info("%s: task %d plan %s", name, task_id, task["plan"])
    previous = signal.getsignal(signal.SIGTERM)
    begin = time.perf_counter()
    try:
        status = run_task(task_id)
    finally:
        wall = time.perf_counter() - begin
        signal.signal(signal.SIGTERM, previous)  # run_task installs its own handler
    task = get_task(task_id)
    plan = task["plan"]
    metric = plan["metric"]
    rows = epoch_rows(task_id, metric)
    report = open_store(task["output_uri"]).get_json(REPORT_KEY) if task.get("metrics") else {}
    metrics = task.get("metrics") or {}
    best = metrics.get("best_epoch")
    best_row = next((r for r in rows if r["epoch"] == best), None)
    return {
        "name": name,
        "spec": spec,
        "plan": {
            k: plan[k]
            for k in (
                "arch",
                "model",
                "input_size",
                "epochs",
                "batch_size",
                "lr",
                "warmup_epochs",
                "overhead",
                "estimated_train_s",
            )
        },
        "status": status.value,
        "stop_reason": task.get("stop_reason"),
        "message": task.get("message"),
        "delivered": {k: metrics.get(k) for k in ("map_50", "map", "map_75", "f1")},
        "best_epoch": best,
        "train_s": rows[-1]["cumulative_train_s"] if rows else None,
        "train_s_to_best": best_row["cumulative_train_s"] if best_row else None,
        "run_task_wall_s": round(wall, 1),
        "latency_ms_batch1": latency_ms(task) if metrics else None,
        "per_class": [
            {k: row.get(k) for k in ("class", "support", "ap_50", "ap", "precision", "recall")}
            for row in report.get("per_class", [])
        ],
        "score_thresholds": report.get("score_thresholds"),
        "epochs": rows,
    }


def raccoon(args: argparse.Namespace) -> dict[str, Any]:
    version = import_dataset(DATASETS / "raccoon", name="raccoon")
    result = run_one(
        "raccoon",
        {
            "basic": {"name": "bench-raccoon", "scenario": "detection"},
            "data": {"source": {"type": "dataset", "dataset": version.ref}},
            "model": {"preference": args.preference, "max_duration": GOAL_TRAIN_S + 300},
        },
    )
    delivered = result["delivered"]["map_50"] or 0.0
    result["goal"] = {"map_50": GOAL_MAP50, "train_s": GOAL_TRAIN_S}
    result["goal_met"] = bool(
        delivered >= GOAL_MAP50 and (result["train_s"] or 1e9) <= GOAL_TRAIN_S
    )
    return result


def mealtray(args: argparse.Namespace) -> dict[str, Any]:
    import_dataset(DATASETS / "mealtray", name="mealtray")
    split = split_version("mealtray", 20, "runs", r"\((\d+)\)")
    return run_one(
        "mealtray",
        {
            "basic": {"name": "bench-mealtray", "scenario": "tableware"},
            "data": {"source": {"type": "dataset", "dataset": split.ref}},
            "model": {"preference": args.preference, "max_duration": "40m"},
        },
    )


def sweep(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every candidate on raccoon under the same time budget (presets by measurement)."""
    version = import_dataset(DATASETS / "raccoon", name="raccoon")
    out = []
    for arch, backbone, size in args.candidates:
        from autolearn.models import presets

        # The candidate as the 'balanced' preset, for this run only.
        saved = presets.DETECTION_PRESETS["balanced"]
        presets.DETECTION_PRESETS["balanced"] = presets.DetectionPreset(
            arch, backbone, size, saved.steps, saved.relative_cost
        )
        try:
            row = run_one(
                f"sweep-{arch}-{backbone.split('.')[0][-5:]}-{size}",
                {
                    "basic": {"name": "bench-sweep", "scenario": "detection"},
                    "data": {"source": {"type": "dataset", "dataset": version.ref}},
                    "model": {
                        "max_duration": args.sweep_budget,
                        "hyperparams": {"epochs": args.sweep_epochs},
                    },
                },
            )
        finally:
            presets.DETECTION_PRESETS["balanced"] = saved
        out.append(row)
        log.info("%s: %s, %s ms", row["name"], row["delivered"], row["latency_ms_batch1"])
    return out


def print_table(results: dict[str, Any]) -> None:
    rows = [r for key in ("raccoon", "mealtray") if (r := results.get(key))]
    rows += results.get("sweep", [])
    print("| run | arch | backbone | size | epochs run | mAP@0.5 | mAP | train s | ms/img |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        p, d = r["plan"], r["delivered"]
        print(
            f"| {r['name']} | {p['arch']} | {p['model']} | {p['input_size']} | "
            f"{len(r['epochs'])} | {d['map_50']:.3f} | {d['map']:.3f} | {r['train_s']} | "
            f"{r['latency_ms_batch1']} |"
        )
    for key in ("raccoon", "mealtray"):
        if key in results:
            for row in results[key]["per_class"]:
                print(f"  {key} {row['class']}: AP50 {row['ap_50']}, support {row['support']}")


def _candidates(text: str) -> list[tuple[str, str, int]]:
    out = []
    for part in text.split(","):
        arch, backbone, size = part.split(":")
        name = backbone if "." in backbone else f"tf_efficientnet_{backbone}.in1k"
        out.append((arch, name, int(size)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="raccoon,mealtray", help="raccoon, mealtray, sweep")
    parser.add_argument("--preference", default="balanced")
    parser.add_argument("--sweep-budget", type=int, default=1800, help="max seconds per candidate")
    parser.add_argument("--sweep-epochs", type=int, default=10)
    parser.add_argument(
        "--candidates",
        type=_candidates,
        default=SWEEP,
        help="sweep candidates 'arch:backbone:size,...' (backbone e.g. lite1)",
    )
    parser.add_argument("--out", type=Path, default=REPO / "bench/results/detection.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if not DATASETS.is_dir():
        print(f"{DATASETS} is missing: the real datasets are needed", file=sys.stderr)
        return 2
    results: dict[str, Any] = {"machine": machine_info(), "command": " ".join(sys.argv)}
    for run in args.runs.split(","):
        with temporary_home():
            if run == "raccoon":
                results["raccoon"] = raccoon(args)
            elif run == "mealtray":
                results["mealtray"] = mealtray(args)
            elif run == "sweep":
                results["sweep"] = sweep(args)
            else:
                parser.error(f"unknown run {run!r}; use raccoon, mealtray or sweep")
        write_json(args.out, results)
    results["machine"]["load_average_end"] = load_average()
    write_json(args.out, results)
    print_table(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
