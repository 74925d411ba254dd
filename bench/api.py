"""API latency under concurrent clients: many clients polling task status and listing tasks.

A throw-away AUTOLEARN_HOME gets ``--tasks`` queued tasks (digits sample, no worker), the
app is served by ``autolearn server --no-queue --workers N`` in a subprocess, and
``--clients`` asyncio clients (httpx) poll for ``--seconds``: each request is either
``GET /api/v1/tasks/{id}`` (status poll, 80 %) or ``GET /api/v1/tasks?limit=20`` (20 %),
and each client waits ``--interval`` seconds (±50 %, so they do not march in step) between
requests, as a console or a script polling a task does. ``--interval 0`` is a closed loop
with no think time: latency then only restates Little's law (clients / throughput).
Latency is measured at the client, so it includes the client's own scheduling: on a 2-core
machine the load generator and the server share the CPUs, and that is stated with the result.

Usage::

    .venv/bin/python bench/api.py --out bench/results/api.json
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, load_average, machine_info, temporary_home, write_json

GOAL_P99_MS = 50.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _make_tasks(n: int) -> tuple[list[int], str]:
    """``n`` queued tasks owned by a member, and that member's API token (the clients
    authenticate as a member, so every request pays for the token check and the
    owner filter, as in production)."""
    from autolearn.accounts.service import authenticate_token, create_token, create_user
    from autolearn.tasks.service import create_task, parse_spec

    token = str(create_token(create_user("bench", "member")["id"], "bench")["token"])
    actor = authenticate_token(token)
    spec = {
        "data": {"source": {"type": "sample", "sample": "digits"}},
        "model": {"pretrained": "test_tiny"},
    }
    return [create_task(parse_spec(spec), actor=actor)["id"] for _ in range(n)], token


def _serve(home: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    """``autolearn server --no-queue``: the production entry point, HTTP only."""
    cmd = [sys.executable, "-m", "autolearn.cli.main", "server", "--no-queue"]
    cmd += ["--port", str(port), "--workers", str(workers)]
    env = {**os.environ, "AUTOLEARN_HOME": str(home)}
    return subprocess.Popen(cmd, env=env, cwd=REPO)


def _wait_ready(base: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"the server at {base} did not answer /healthz in {timeout_s} s")


async def _client(
    http: httpx.AsyncClient,
    ids: list[int],
    until: float,
    seed: int,
    out: dict[str, list],
    interval: float,
) -> None:
    rng = random.Random(seed)
    await asyncio.sleep(rng.uniform(0, interval))
    while time.perf_counter() < until:
        if rng.random() < 0.8:
            route, path = "status", f"/api/v1/tasks/{rng.choice(ids)}"
        else:
            route, path = "list", "/api/v1/tasks?limit=20"
        begin = time.perf_counter()
        try:
            response = await http.get(path)
        except httpx.TransportError as exc:  # counted, not fatal: overload shows as errors
            out["errors"].append(type(exc).__name__)
            continue
        out[route].append((time.perf_counter() - begin) * 1000)
        if response.status_code != 200:
            out["errors"].append(response.status_code)
        if interval:
            await asyncio.sleep(interval * rng.uniform(0.5, 1.5))


async def _load(
    base: str, ids: list[int], clients: int, seconds: float, interval: float, token: str
) -> dict[str, list]:
    out: dict[str, list] = {"status": [], "list": [], "errors": []}
    warm: dict[str, list] = {"status": [], "list": [], "errors": []}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30, headers=headers) as http:
        warm_until = time.perf_counter() + 2  # connections open, server code paths warm
        await asyncio.gather(
            *[_client(http, ids, warm_until, i, warm, 0.2) for i in range(clients)]
        )
        until = time.perf_counter() + seconds
        await asyncio.gather(
            *[_client(http, ids, until, 1000 + i, out, interval) for i in range(clients)]
        )
    return out


def _server_histogram(base: str) -> dict[str, Any]:
    """Share of requests the server itself answered within each bucket (its Prometheus
    histogram, warm-up included): tells server time from the load generator's own delays."""
    text = httpx.get(f"{base}/metrics", timeout=10).text
    counts: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("autolearn_http_request_seconds_bucket") and "/api/v1/tasks" in line:
            le = line.split('le="')[1].split('"')[0]
            counts[le] = counts.get(le, 0.0) + float(line.rsplit(" ", 1)[1])
    total = counts.get("+Inf", 0.0)
    if not total:
        return {}
    return {f"le_{le}s": round(n / total, 4) for le, n in counts.items() if le != "+Inf"}


def _summary(values: list[float], seconds: float) -> dict[str, Any]:
    if not values:
        return {"requests": 0}
    ordered = sorted(values)
    return {
        "requests": len(values),
        "per_s": round(len(values) / seconds, 1),
        "p50_ms": round(statistics.median(ordered), 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 2),
        "max_ms": round(ordered[-1], 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
    parser.add_argument("--workers", type=int, default=1, help="HTTP worker processes")
    parser.add_argument("--out", type=Path, default=REPO / "bench/results/api.json")
    args = parser.parse_args(argv)
    result: dict[str, Any] = {"machine": machine_info(), "command": " ".join(sys.argv)}
    with temporary_home() as home:
        ids, token = _make_tasks(args.tasks)
        port = _free_port()
        server = _serve(home, port, args.workers)
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_ready(base)
            raw = asyncio.run(_load(base, ids, args.clients, args.seconds, args.interval, token))
            result["server_side"] = _server_histogram(base)
        finally:
            server.terminate()
            server.wait(timeout=10)
    result["settings"] = {
        k: getattr(args, k) for k in ("clients", "tasks", "seconds", "interval", "workers")
    }
    result["status_poll"] = _summary(raw["status"], args.seconds)
    result["list_tasks"] = _summary(raw["list"], args.seconds)
    result["errors"] = len(raw["errors"])
    result["error_kinds"] = sorted({str(e) for e in raw["errors"]})
    worst = max(result["status_poll"].get("p99_ms", 0), result["list_tasks"].get("p99_ms", 0))
    result["goal"] = {"p99_ms": GOAL_P99_MS, "met": worst <= GOAL_P99_MS}
    result["machine"]["load_average_end"] = load_average()
    write_json(args.out, result)
    print("| route | requests | req/s | p50 ms | p99 ms | max ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for key in ("status_poll", "list_tasks"):
        r = result[key]
        row = [key, r["requests"], r["per_s"], r["p50_ms"], r["p99_ms"], r["max_ms"]]
        print("| " + " | ".join(str(v) for v in row) + " |")
    print(f"errors: {result['errors']}; goal p99 ≤ {GOAL_P99_MS} ms: {result['goal']['met']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
