"""Online prediction throughput: one published model served with micro-batching on and
off, under many concurrent clients.

A throw-away AUTOLEARN_HOME and a real ``autolearn server`` (subprocess, with its queue)
train a small classifier on the built-in ``digits`` sample (``--preference speed``,
``--max-duration``; or ``--model-file`` takes an existing ``model.pt``), publish it and
deploy it twice: ``micro_batching`` on (``--max-batch``, ``--max-wait-ms``) and off (each
request its own forward pass, on the same single inference thread, so the comparison
measures batching and nothing else). ``--clients`` asyncio clients (httpx, keep-alive)
then post a PNG as fast as answers come (closed loop, no think time) for ``--seconds``
against each service in turn, after a 3-second warm-up. Throughput, latency at the
client (p50/p99), 429s and other errors, and the service's own batch statistics are
written to ``--out``. The load generator shares the machine's CPUs with the server: on
2 cores that is part of the result.

Usage::

    .venv/bin/python bench/serve.py --out bench/results/serve.json
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api import _free_port, _wait_ready
from common import REPO, load_average, machine_info, temporary_home, write_json

WARMUP_S = 3.0


def _serve(home: Path, port: int) -> subprocess.Popen[bytes]:
    """``autolearn server``: the production entry point, with its queue (it trains)."""
    cmd = [sys.executable, "-m", "autolearn.cli.main", "server", "--port", str(port)]
    env = {**os.environ, "AUTOLEARN_HOME": str(home)}
    return subprocess.Popen(cmd, env=env, cwd=REPO)


def _token() -> str:
    from autolearn.accounts.service import create_token, create_user

    return str(create_token(create_user("bench", "member")["id"], "bench")["token"])


def _train(api: httpx.Client, preference: str, max_duration: str) -> int:
    """A digits task through the API, followed to its end; returns its id."""
    spec = {
        "basic": {"name": "serve-bench"},
        "data": {"source": {"type": "sample", "sample": "digits"}},
        "model": {"preference": preference, "max_duration": max_duration},
    }
    made = api.post("/api/v1/tasks", json=spec)
    made.raise_for_status()
    task_id = int(made.json()["id"])
    deadline = time.monotonic() + 3600
    while time.monotonic() < deadline:
        task = api.get(f"/api/v1/tasks/{task_id}").json()
        if task["status"] in ("SUCCEED", "STOPPED", "FAILED", "SUBMIT_FAILED"):
            if task["status"] != "SUCCEED":
                raise RuntimeError(f"training ended {task['status']}: {task.get('message')}")
            return task_id
        time.sleep(2)
    raise RuntimeError("training did not end within an hour")


def _task_from_file(model_file: Path, token: str) -> int:
    """A finished task (in this home) holding ``model_file``, so that it can be published."""
    import torch

    from autolearn.accounts.service import authenticate_token
    from autolearn.db import Task, session_scope
    from autolearn.storage import open_store
    from autolearn.tasks.results import META_KEY, MODEL_KEY, REPORT_KEY
    from autolearn.tasks.service import create_task, parse_spec

    meta = torch.load(model_file, map_location="cpu", weights_only=False)["meta"]
    spec = {
        "basic": {"name": "serve-bench"},
        "data": {"source": {"type": "sample", "sample": "digits"}},
        "model": {"pretrained": "test_tiny"},
    }
    task = create_task(parse_spec(spec), actor=authenticate_token(token))
    store = open_store(task["output_uri"])
    store.put_file(MODEL_KEY, str(model_file))
    store.put_json(META_KEY, meta)
    store.put_json(REPORT_KEY, {"metrics": meta.get("metrics") or {}})
    with session_scope() as s:
        row = s.get(Task, task["id"])
        assert row is not None
        row.status = "SUCCEED"
    return int(task["id"])


def _images(n: int = 16, size: int = 64) -> list[bytes]:
    """Small PNGs (what a digit photo from a phone becomes after a client resizes it)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        pixels = rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="PNG")
        out.append(buffer.getvalue())
    return out


def _deploy(api: httpx.Client, model: str, name: str, config: dict[str, Any]) -> int:
    made = api.post("/api/v1/services", json={"model": model, "name": name, **config})
    made.raise_for_status()
    service_id = int(made.json()["id"])
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        health = api.get(f"/api/v1/services/{service_id}/health").json()
        if health["state"] == "ready":
            return service_id
        if health["state"] == "failed":
            raise RuntimeError(f"service {service_id} failed to load: {health['error']}")
        time.sleep(0.2)
    raise RuntimeError(f"service {service_id} did not load")


async def _client(
    http: httpx.AsyncClient, path: str, images: list[bytes], until: float, seed: int, out: dict
) -> None:
    rng = random.Random(seed)
    headers = {"Content-Type": "image/png"}
    while time.perf_counter() < until:
        begin = time.perf_counter()
        try:
            response = await http.post(path, content=rng.choice(images), headers=headers)
        except httpx.TransportError as exc:
            out["errors"].append(type(exc).__name__)
            continue
        elapsed = (time.perf_counter() - begin) * 1000
        if response.status_code == 200:
            out["ok"].append(elapsed)
            out["server"].append(float(response.json()["latency_ms"]))
        elif response.status_code == 429:
            out["rejected"] += 1
            await asyncio.sleep(0.01)  # what a polite client does on 429
        else:
            out["errors"].append(response.status_code)


async def _load(
    base: str, token: str, service_id: int, clients: int, seconds: float
) -> dict[str, Any]:
    images = _images()
    path = f"/api/v1/services/{service_id}/predict"
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60, headers=headers) as h:
        warm: dict[str, Any] = {"ok": [], "server": [], "rejected": 0, "errors": []}
        until = time.perf_counter() + WARMUP_S
        await asyncio.gather(*[_client(h, path, images, until, i, warm) for i in range(clients)])
        out: dict[str, Any] = {"ok": [], "server": [], "rejected": 0, "errors": []}
        started = time.perf_counter()
        until = started + seconds
        await asyncio.gather(
            *[_client(h, path, images, until, 1000 + i, out) for i in range(clients)]
        )
        out["elapsed_s"] = time.perf_counter() - started
    return out


def _quantile(ordered: list[float], q: float) -> float | None:
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1) if ordered else None


def _summary(raw: dict[str, Any], health: dict[str, Any]) -> dict[str, Any]:
    """Client-side latency (what a caller waits) and the route's own ``latency_ms`` (from
    the request reaching the route to its result: queue + batch + inference), which
    tells time inside the service from time in HTTP, the event loop or the client."""
    ok = sorted(raw["ok"])
    server = sorted(raw["server"])
    elapsed = raw["elapsed_s"]
    return {
        "requests_ok": len(ok),
        "throughput_per_s": round(len(ok) / elapsed, 1),
        "p50_ms": round(statistics.median(ok), 1) if ok else None,
        "p99_ms": round(ok[min(len(ok) - 1, int(0.99 * len(ok)))], 1) if ok else None,
        "max_ms": round(ok[-1], 1) if ok else None,
        "route_p50_ms": _quantile(server, 0.5),
        "route_p99_ms": _quantile(server, 0.99),
        "rejected_429": raw["rejected"],
        "errors": len(raw["errors"]),
        "error_kinds": sorted({str(e) for e in raw["errors"]}),
        "server_batches": health["batches"],
        "server_mean_batch_size": health["mean_batch_size"],
        "server_largest_batch": health["largest_batch"],
    }


def _model(api: httpx.Client, args: argparse.Namespace, token: str) -> tuple[int, float]:
    began = time.perf_counter()
    if args.model_file:
        return _task_from_file(args.model_file, token), 0.0
    task_id = _train(api, args.preference, args.max_duration)
    return task_id, round(time.perf_counter() - began, 1)


def _save_model(api: httpx.Client, task_id: int, path: Path) -> None:
    """The trained model.pt, for later runs with ``--model-file`` (no training)."""
    answer = api.get(f"/api/v1/models/{task_id}/download")
    answer.raise_for_status()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(answer.content)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--max-batch", type=int, default=16)
    parser.add_argument("--max-wait-ms", type=float, default=5.0)
    parser.add_argument("--queue-size", type=int, default=64)
    parser.add_argument("--preference", default="speed", help="of the digits task")
    parser.add_argument("--max-duration", default="90s", help="of the digits task")
    parser.add_argument("--model-file", type=Path, help="a model.pt instead of training")
    parser.add_argument("--save-model", type=Path, help="keep the trained model.pt here")
    parser.add_argument("--out", type=Path, default=REPO / "bench/results/serve.json")
    args = parser.parse_args(argv)
    result: dict[str, Any] = {"machine": machine_info(), "command": " ".join(sys.argv)}
    with temporary_home() as home:
        token = _token()
        port = _free_port()
        server = _serve(home, port)
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {token}"}
        try:
            _wait_ready(base)
            with httpx.Client(base_url=base, headers=headers, timeout=120) as api:
                task_id, train_s = _model(api, args, token)
                if args.save_model:
                    _save_model(api, task_id, args.save_model)
                version = api.post(
                    "/api/v1/model-versions", json={"task_id": task_id, "name": "digits"}
                ).json()
                result["model"] = {
                    "ref": version["ref"],
                    "format": version["format"],
                    "model": version["meta"].get("model"),
                    "input_size": version["meta"].get("input_size"),
                    "metrics": version["metrics"],
                    "size_bytes": version["size_bytes"],
                    "train_s": train_s,
                }
                for label, batching in (("micro_batching_on", True), ("micro_batching_off", False)):
                    config = {
                        "max_batch": args.max_batch,
                        "max_wait_ms": args.max_wait_ms,
                        "queue_size": args.queue_size,
                        "micro_batching": batching,
                    }
                    sid = _deploy(api, version["ref"], label, config)
                    raw = asyncio.run(_load(base, token, sid, args.clients, args.seconds))
                    health = api.get(f"/api/v1/services/{sid}/health").json()
                    result[label] = {"config": config, **_summary(raw, health)}
                    api.post(f"/api/v1/services/{sid}/stop")  # frees its model and thread
        finally:
            server.terminate()
            server.wait(timeout=30)
    result["settings"] = {"clients": args.clients, "seconds": args.seconds}
    result["machine"]["load_average_end"] = load_average()
    write_json(args.out, result)
    _print(result)
    return 0


def _print(result: dict[str, Any]) -> None:
    print(
        "| service | req/s | p50 ms | p99 ms | route p50 | route p99 | 429s | errors | mean batch |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label in ("micro_batching_on", "micro_batching_off"):
        r = result[label]
        row = [
            label,
            r["throughput_per_s"],
            r["p50_ms"],
            r["p99_ms"],
            r["route_p50_ms"],
            r["route_p99_ms"],
            r["rejected_429"],
            r["errors"],
            r["server_mean_batch_size"],
        ]
        print("| " + " | ".join(str(v) for v in row) + " |")


if __name__ == "__main__":
    raise SystemExit(main())
