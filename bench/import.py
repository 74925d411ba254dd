"""Import benchmark: 10,000 generated images of mixed sizes through ``import_dataset``.

The images (64–640 px on each side, independently; 3/4 JPEG, 1/4 PNG; 10 classes as an
ImageFolder; smooth colour gradients with mild noise, so the files have realistic sizes)
are generated first, in parallel and untimed. Each measured import then runs in a fresh
child process with its own throw-away ``AUTOLEARN_HOME`` (SQLite + local object store),
so that its peak RSS (``getrusage`` ``ru_maxrss`` of the child itself and of anything it
started) is the import's alone. Goals (this machine): ≤ 60 s and ≤ 1 GB peak RSS.

The child imports twice: the first import is the measured one; the second (same data,
same home) shows the cost of a re-import that finds the version already there.

Usage::

    .venv/bin/python bench/import.py --out bench/results/import.json
    .venv/bin/python bench/import.py --images 500 --out /tmp/smoke.json      # smoke run
    .venv/bin/python bench/import.py --workers 1,2,4,8 --out /tmp/workers.json  # thread sweep
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, _cpu_model, _git_commit, load_average, write_json

GOAL_S = 60.0
GOAL_RSS_MB = 1024.0
QUIET_LOAD = 1.0  # a run waits (up to --settle seconds) for the 1-minute load to drop below
NUM_CLASSES = 10


# ---------------------------------------------------------------------- generation


def _make_batch(args: tuple[Path, int, int, int]) -> int:
    """Write images ``start .. start + count - 1`` under ``root/class_<k>/``; returns bytes."""
    import numpy as np
    from PIL import Image

    root, start, count, seed = args
    total = 0
    for i in range(start, start + count):
        rng = np.random.default_rng(seed * 1_000_003 + i)
        w, h = (int(v) for v in rng.integers(64, 641, size=2))
        x = np.linspace(0.0, 1.0, w, dtype=np.float32)[None, :, None]
        y = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
        a, b, c = (rng.uniform(0, 255, size=3).astype(np.float32) for _ in range(3))
        pixels = a * x + b * y + c * (1 - x) * (1 - y)
        pixels += rng.normal(0, 6, size=(h, w, 3)).astype(np.float32)
        img = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
        folder = root / f"class_{i % NUM_CLASSES}"
        folder.mkdir(parents=True, exist_ok=True)
        if i % 4 == 3:
            path = folder / f"{i:05d}.png"
            img.save(path, compress_level=6)
        else:
            path = folder / f"{i:05d}.jpg"
            img.save(path, quality=90)
        total += path.stat().st_size
    return total


def generate(root: Path, n: int, seed: int = 0) -> dict[str, Any]:
    """``n`` images under ``root`` (reused when ``root`` already holds them)."""
    marker = root / ".generated.json"
    if marker.is_file():
        info: dict[str, Any] = json.loads(marker.read_text())
        if info.get("images") == n and info.get("seed") == seed:
            return info
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    chunk = 250
    jobs = [(root, s, min(chunk, n - s), seed) for s in range(0, n, chunk)]
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        size = sum(pool.map(_make_batch, jobs))
    info = {
        "images": n,
        "seed": seed,
        "bytes": size,
        "jpeg": n - n // 4,
        "png": n // 4,
        "classes": NUM_CLASSES,
        "sides_px": [64, 640],
        "generate_s": round(time.perf_counter() - started, 1),
    }
    marker.write_text(json.dumps(info))
    return info


# ---------------------------------------------------------------------- the child


def child(data: Path, workers: int | None) -> dict[str, Any]:
    """Import ``data`` into a fresh home (twice); runs in its own process."""
    home = Path(tempfile.mkdtemp(prefix="autolearn-bench-import-"))
    os.environ["AUTOLEARN_HOME"] = str(home)
    os.environ.pop("AUTOLEARN_DATABASE_URL", None)
    os.environ.pop("AUTOLEARN_STORAGE_URL", None)
    try:
        from autolearn.datasets import validate
        from autolearn.datasets.service import import_dataset

        validate.WORKERS = workers
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        version = import_dataset(data, name="bench")
        first = time.perf_counter() - started
        again_started = time.perf_counter()
        again = import_dataset(data, name="bench")
        second = time.perf_counter() - again_started
        assert again.id == version.id
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        report = version.report
        return {
            "workers": workers or "default",
            "import_s": round(first, 2),
            "reimport_s": round(second, 2),
            "images": version.num_images,
            "images_per_s": round(version.num_images / first, 1),
            "timings_s": report.get("timings_s", {}),
            "peak_rss_mb": round(max(own, kids) / 1024, 1),
            "peak_rss_self_mb": round(own / 1024, 1),
            "peak_rss_children_mb": round(kids / 1024, 1),
            "rss_after_imports_loaded_mb": round(rss_before / 1024, 1),
            "store_mb": round(_tree_bytes(home / "store") / 1024**2, 1),
            "warnings": report.get("severity_counts", {}),
        }
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def settle(max_wait_s: float) -> float:
    """Wait until the 1-minute load average drops below ``QUIET_LOAD`` (our own previous
    run raises it too); returns the seconds waited."""
    started = time.perf_counter()
    while time.perf_counter() - started < max_wait_s:
        load = load_average()
        if load is None or load[0] < QUIET_LOAD:
            break
        time.sleep(5)
    return round(time.perf_counter() - started, 1)


def run_child(data: Path, workers: int | None, settle_s: float) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", str(data)]
    if workers:
        cmd += ["--workers", str(workers)]
    waited = settle(settle_s)
    load_before = load_average()
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"the import child failed:\n{proc.stdout}\n{proc.stderr}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["child_wall_s"] = round(time.perf_counter() - started, 2)
    result["settle_wait_s"] = waited
    result["load_average_before"] = load_before
    result["load_average_after"] = load_average()
    return result


# ---------------------------------------------------------------------- main


def _machine() -> dict[str, Any]:
    from importlib import metadata

    return {
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "pillow": metadata.version("pillow"),
        "git_commit": _git_commit(),
    }


def _table(runs: list[dict[str, Any]]) -> str:
    head = (
        "| workers | import s | img/s | read s | validate s | blobs s | re-import s "
        "| peak RSS MB | load before → after |"
    )
    lines = [head, "| " + " | ".join(["---"] + ["---:"] * 8) + " |"]
    for r in runs:
        t = r["timings_s"]
        load = f"{r['load_average_before'][0]} → {r['load_average_after'][0]}"
        lines.append(
            f"| {r['workers']} | {r['import_s']} | {r['images_per_s']} | {t.get('read_s')} | "
            f"{t.get('validate_s')} | {t.get('write_blobs_s')} | {r['reimport_s']} | "
            f"{r['peak_rss_mb']} | {load} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "import.json")
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="where to generate the images (kept and reused; default: a temp dir)",
    )
    parser.add_argument(
        "--workers",
        default="",
        help="validation threads, e.g. '2' or a sweep '1,2,4' (default: auto)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per setting (fresh homes)")
    parser.add_argument(
        "--settle",
        type=float,
        default=120.0,
        help=f"wait up to this many seconds for a load below {QUIET_LOAD}",
    )
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child is not None:
        workers = int(args.workers) if args.workers else None
        print(json.dumps(child(args.child, workers)))
        return

    sweep: list[int | None] = [int(w) for w in args.workers.split(",") if w] or [None]
    data = args.data or Path(tempfile.mkdtemp(prefix="autolearn-bench-images-"))
    try:
        print(f"generating {args.images} images in {data} (not timed) …", flush=True)
        generated = generate(data, args.images)
        print(f"  {generated['bytes'] / 1024**2:.0f} MB in {generated['generate_s']} s", flush=True)
        runs = []
        for round_ in range(args.repeat):
            for workers in sweep:
                print(f"importing (workers={workers or 'auto'}, run {round_ + 1}) …", flush=True)
                runs.append(run_child(data, workers, args.settle))
    finally:
        if args.data is None:
            shutil.rmtree(data, ignore_errors=True)
    median = sorted(runs, key=lambda r: r["import_s"])[(len(runs) - 1) // 2]
    result = {
        "benchmark": "import",
        "machine": _machine(),
        "dataset": generated,
        "runs": runs,
        "goal": {"import_s": GOAL_S, "peak_rss_mb": GOAL_RSS_MB},
        "median_import_s": median["import_s"],
        "max_peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "met": median["import_s"] <= GOAL_S and max(r["peak_rss_mb"] for r in runs) <= GOAL_RSS_MB,
    }
    write_json(args.out, result)
    print(_table(runs))
    print(
        f"median import {result['median_import_s']} s, peak RSS ≤ {result['max_peak_rss_mb']} MB;"
        f" goal ≤ {GOAL_S:.0f} s and ≤ {GOAL_RSS_MB:.0f} MB: "
        f"{'met' if result['met'] else 'NOT met'}; JSON: {args.out}"
    )
    busy = [r for r in runs if (r["load_average_before"] or [0])[0] > QUIET_LOAD]
    if busy:
        print(
            f"note: {len(busy)} run(s) started with a 1-minute load above {QUIET_LOAD}: "
            "the machine was busy, rerun"
        )


if __name__ == "__main__":
    main()
