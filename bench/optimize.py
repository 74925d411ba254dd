"""Optimisation benchmark: what the form's "model optimization" buys on real photos, and
what it costs in accuracy, measured through the platform as a user runs it.

Each run imports a real dataset into a throw-away AUTOLEARN_HOME, trains the default task
through the real worker entry, then optimises the delivered model with
``optimize.service.optimize_task`` (export, calibration on the training split, the accuracy
gate on the validation split, timing) for each profile. Side by side in one process:

* PyTorch eager fp32 (NCHW, as ``Predictor`` runs it) — the report's "before";
* PyTorch eager fp32 with channels_last (the best eager layout on this CPU), measured here
  so that the ratio is also given against the strongest plain-PyTorch baseline;
* PyTorch eager fp32 in a fresh process (what ``autolearn predict`` or a just-started
  service pays: several times slower than the same model in the process that trained it,
  see ``fresh_process_speed``);
* ONNX Runtime fp32 (profile ``cpu/NO_LOSS``) and static INT8 (``cpu/INT8``).

Runs (``--runs``): ``ants`` (hymenoptera, classification, its own val split; goal: INT8
≥ 5× eager fp32 throughput at batch 32, accuracy change ≤ 1 point) and ``raccoon``
(detection, its CSV split; the mAP@0.5 change). On a CUDA machine the FP16 GPU profile is
added (goal: batch-1 latency ≤ 1 ms for lite0).

Usage::

    .venv/bin/python bench/optimize.py --out bench/results/optimize.json
    .venv/bin/python bench/optimize.py --runs ants --bench-seconds 2   # quicker
"""

from __future__ import annotations

import argparse
import logging
import shlex
import signal
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from autolearn.datasets.service import import_dataset
from autolearn.optimize import bench
from autolearn.optimize.service import optimize_task
from autolearn.scheduler.worker import run_task
from autolearn.serving.predictor import Predictor, model_uri
from autolearn.tasks.service import create_task, get_task, parse_spec
from common import REPO, load_average, machine_info, temporary_home, write_json

log = logging.getLogger("bench.optimize")
DATASETS = REPO.parent / "shared" / "datasets"
GOAL_RATIO = 5.0
GOAL_DROP_POINTS = 1.0
RUNS = {
    "ants": ("hymenoptera", "classification", "15m"),
    "raccoon": ("raccoon", "detection", "25m"),
}


def train(dataset: str, scenario: str, max_duration: str) -> dict[str, Any]:
    """The default task of ``scenario`` on ``dataset``, run to the end in-process."""
    version = import_dataset(DATASETS / dataset, name=dataset)
    spec = {
        "basic": {"name": f"bench-{dataset}", "scenario": scenario},
        "data": {"source": {"type": "dataset", "dataset": version.ref}},
        "model": {"max_duration": max_duration},
    }
    task = create_task(parse_spec(spec))
    previous = signal.getsignal(signal.SIGTERM)
    begin = time.perf_counter()
    try:
        run_task(task["id"])
    finally:
        signal.signal(signal.SIGTERM, previous)  # run_task installs its own handler
    done = get_task(task["id"])
    log.info("%s: %s in %.0f s", dataset, done["message"], time.perf_counter() - begin)
    return done


def channels_last_speed(task: dict[str, Any], seconds: float) -> dict[str, Any]:
    """The strongest eager baseline: the same fp32 model in channels_last memory format
    (classification; a detector's eager run is the report's "before")."""
    predictor = Predictor.from_file(model_uri(task), device="cpu")
    model = predictor.model.to(memory_format=torch.channels_last)

    def run(batch: Any) -> Any:
        with torch.inference_mode():
            return model(torch.from_numpy(batch).to(memory_format=torch.channels_last))

    return bench.measure(run, predictor.input_size, seconds=seconds).as_dict()


FRESH = """
import json, sys
from autolearn.optimize import bench
from autolearn.serving.predictor import Predictor
p = Predictor.from_file(sys.argv[1], device="cpu")
speed = bench.measure(bench.runtime_runner(p), p.input_size, seconds=float(sys.argv[2]))
print(json.dumps(speed.as_dict()))
"""


def fresh_process_speed(task: dict[str, Any], seconds: float) -> dict[str, Any]:
    """Eager fp32 in a new process, as ``autolearn predict`` or a freshly started service
    runs it. Measured because it differs from the in-process number: after training, the
    allocator serves activations from the heap; a fresh process maps and zeroes new pages
    for them on every call (glibc's mmap threshold has not risen yet)."""
    import json
    import subprocess

    uri = model_uri(task)
    out = subprocess.run(
        [sys.executable, "-c", FRESH, uri, str(seconds)],
        capture_output=True,
        text=True,
        check=True,
    )
    found: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return found


def one_run(name: str, args: argparse.Namespace) -> dict[str, Any]:
    dataset, scenario, budget = RUNS[name]
    task = train(dataset, scenario, budget)
    result: dict[str, Any] = {
        "run": name,
        "task": {k: task.get(k) for k in ("id", "status", "message", "metrics")},
        "plan": {k: task["plan"].get(k) for k in ("model", "arch", "input_size", "metric")},
        "profiles": {},
    }
    if task["status"] != "SUCCEED":
        return result
    profiles = [("cpu", "NO_LOSS"), ("cpu", "INT8")]
    if torch.cuda.is_available():
        profiles.append(("gpu-t4", "FP16"))
    for target, level in profiles:
        try:
            report = optimize_task(task["id"], target, level, bench_seconds=args.bench_seconds)
        except Exception as exc:  # recorded: a profile this machine cannot run
            result["profiles"][f"{target}-{level}".lower()] = {
                "status": "failed",
                "error": str(exc),
            }
            continue
        result["profiles"][report["profile"]] = report
    if scenario == "classification":
        result["eager_channels_last"] = channels_last_speed(task, args.bench_seconds)
    result["eager_fresh_process"] = fresh_process_speed(task, args.bench_seconds)
    result["summary"] = summarise(result)
    return result


def summarise(result: dict[str, Any]) -> dict[str, Any]:
    int8 = result["profiles"].get("cpu-int8") or {}
    if "after" not in int8:
        return {}
    before, after = int8["before"], int8["after"]
    gate = int8["gate"]
    ratio = after["throughput_bs32"] / before["throughput_bs32"]
    fresh = result["eager_fresh_process"]["throughput_bs32"]
    channels_last = result.get("eager_channels_last")
    ratio_cl = (
        after["throughput_bs32"] / channels_last["throughput_bs32"] if channels_last else None
    )
    return {
        "metric": gate["metric"],
        "fp32_metric": gate["before"],
        "int8_metric": gate["after"],
        "change_points": round(-gate["drop_points"], 2),
        "int8_vs_eager_fp32": round(ratio, 2),
        "int8_vs_eager_channels_last": round(ratio_cl, 2) if ratio_cl else None,
        "int8_vs_eager_fresh_process": round(after["throughput_bs32"] / fresh, 2),
        "goal_ratio": GOAL_RATIO,
        "goal_drop_points": GOAL_DROP_POINTS,
        "goal_met": ratio >= GOAL_RATIO and gate["drop_points"] <= GOAL_DROP_POINTS,
    }


def print_table(results: list[dict[str, Any]]) -> None:
    header = "run      profile      engine               metric    p50 ms   p99 ms   img/s@32  MB"
    print(header)
    for res in results:
        for profile, rep in res["profiles"].items():
            if "after" not in rep:
                print(f"{res['run']:8} {profile:12} {rep.get('error', rep.get('message'))}")
                continue
            for side in ("before", "after"):
                s = rep[side]
                print(
                    f"{res['run']:8} {profile if side == 'after' else '':12} {s['engine']:20} "
                    f"{s['metric']:.4f}  {s['latency_p50_ms']:7.2f}  {s['latency_p99_ms']:7.2f}  "
                    f"{s['throughput_bs32']:8.1f}  {s['size_bytes'] / 1e6:5.1f}"
                )
        print(f"{res['run']:8} summary: {res.get('summary')}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--runs", default="ants,raccoon", help="comma-separated: ants, raccoon")
    p.add_argument("--bench-seconds", type=float, default=5.0, help="timing per measurement")
    p.add_argument("--out", type=Path, default=REPO / "bench/results/optimize.json")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    runs = [r.strip() for r in args.runs.split(",") if r.strip()]
    unknown = [r for r in runs if r not in RUNS]
    if unknown:
        print(f"unknown runs {unknown}; choose from {', '.join(RUNS)}", file=sys.stderr)
        return 2
    out: dict[str, Any] = {
        "benchmark": "optimize",
        "command": shlex.join([sys.executable, *sys.argv]),
        "machine": machine_info(),
        "torch_threads": torch.get_num_threads(),
        "runs": [],
    }
    for name in runs:
        with temporary_home():
            out["runs"].append(one_run(name, args))
    out["machine"]["load_average_end"] = load_average()
    write_json(args.out, out)
    print_table(out["runs"])
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
