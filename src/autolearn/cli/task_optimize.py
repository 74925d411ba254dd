"""``autolearn task optimize`` and ``autolearn task export``: the form's model optimisation
for a model that is already trained, and its export as ONNX or TorchScript with a model
card. Embedded runs here with progress lines; ``--server`` asks the server and follows
its background optimisation to the final report."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from autolearn.cli.output import console, err_console, print_json, run, table

JSON = typer.Option(False, "--json", help="Print JSON for scripts.")
STATUS_STYLE = {"ready": "green", "refused": "red", "failed": "red", "interrupted": "yellow"}


def optimize(
    task_id: int = typer.Argument(..., help="Task ID of a trained model."),
    target: str = typer.Option("cpu", "--target", help="cpu, gpu-t4, gpu-v100 or gpu-a10."),
    level: str = typer.Option("INT8", "--level", help="NO_LOSS, FP16 (GPU) or INT8."),
    max_drop: float = typer.Option(
        1.0, "--max-drop", min=0, max=100, help="Refuse if the metric drops more (points)."
    ),
    json_out: bool = JSON,
) -> None:
    """Optimise a trained model for a target; the accuracy gate refuses it if the
    validation metric drops by more than --max-drop points. Exit code 1 when refused."""
    from autolearn.cli.backend import current

    backend = current()
    if backend.remote:
        report = run(lambda: _remote_optimize(backend, task_id, target, level, max_drop))
    else:
        report = run(lambda: _local_optimize(task_id, target, level, max_drop, json_out))
    if json_out:
        print_json(report)
    else:
        print_report(report)
    if report.get("status") != "ready":
        raise typer.Exit(1)


def _local_optimize(
    task_id: int, target: str, level: str, max_drop: float, quiet: bool
) -> dict[str, Any]:
    from autolearn.optimize.service import optimize_task

    def say(line: str) -> None:
        if not quiet:
            err_console.print(f"[dim]·[/] {escape(line)}")

    with err_console.status("optimising…", spinner="dots"):
        return optimize_task(task_id, target, level, tolerance=max_drop, progress=say)


def _remote_optimize(
    backend: Any, task_id: int, target: str, level: str, max_drop: float
) -> dict[str, Any]:
    client = backend.client
    started = client.optimize_model(task_id, target, level, max_drop)
    with err_console.status(f"the server is optimising ({started['profile']})…", spinner="dots"):
        return dict(client.wait_optimization(task_id, started["profile"]))


def print_report(report: dict[str, Any]) -> None:
    """The verdict, the engine and why, and before/after side by side."""
    status = str(report.get("status"))
    style = STATUS_STYLE.get(status, "white")
    message = escape(str(report.get("message")))
    console.print(f"[bold]{report.get('profile')}[/]: [{style}]{status}[/] — {message}")
    engine = report.get("engine") or {}
    if engine:
        why = escape(str(engine.get("why")))
        console.print(f"engine: {engine.get('name')} ({engine.get('precision')}): {why}")
    before, after = report.get("before"), report.get("after")
    if not before or not after:
        return
    metric = (report.get("gate") or {}).get("metric", "metric")
    rows = [
        [metric, f"{before['metric']:.4f}", f"{after['metric']:.4f}"],
        [
            "latency p50, batch 1 (ms)",
            f"{before['latency_p50_ms']:.2f}",
            f"{after['latency_p50_ms']:.2f}",
        ],
        [
            "latency p99, batch 1 (ms)",
            f"{before['latency_p99_ms']:.2f}",
            f"{after['latency_p99_ms']:.2f}",
        ],
        [
            "throughput, batch 32 (img/s)",
            f"{before['throughput_bs32']:.1f}",
            f"{after['throughput_bs32']:.1f}",
        ],
        ["size (MB)", f"{before['size_bytes'] / 1e6:.2f}", f"{after['size_bytes'] / 1e6:.2f}"],
    ]
    console.print(table(None, ["", before["engine"], after["engine"]], rows))


def export(
    task_id: int = typer.Argument(..., help="Task ID of a trained model."),
    fmt: str = typer.Option("onnx", "--format", help="onnx or torchscript."),
    out: Path = typer.Option(Path("."), "--out", help="A folder, or the file to write."),
    json_out: bool = JSON,
) -> None:
    """Export the best model as ONNX (dynamic batch; labels, mean/std, input size and
    thresholds in its metadata) or TorchScript, with model_card.json beside it."""
    from autolearn.cli.backend import current

    backend = current()
    if backend.remote:
        done = run(lambda: _remote_export(backend, task_id, fmt, out))
    else:
        done = run(lambda: _local_export(task_id, fmt, out))
    if json_out:
        print_json(done)
        return
    console.print(f"wrote {done['path']} ({done['size_bytes'] / 1e6:.2f} MB) and {done['card']}")


def _local_export(task_id: int, fmt: str, out: Path) -> dict[str, Any]:
    import json

    from autolearn.optimize.exporting import export_task
    from autolearn.storage import open_store

    done = export_task(task_id, fmt)
    target = out / f"task{task_id}-{done['filename']}" if out.is_dir() else out
    parent, _, name = done["uri"].rpartition("/")
    with open_store(parent).open(name) as src, target.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    card = target.with_name("model_card.json")
    card.write_text(json.dumps(done["card"], indent=2, default=str))
    return {"path": str(target), "size_bytes": done["size_bytes"], "card": str(card)}


def _remote_export(backend: Any, task_id: int, fmt: str, out: Path) -> dict[str, Any]:
    client = backend.client
    target = client.export_model(task_id, fmt, out)
    card = client.export_model(task_id, "card", target.with_name("model_card.json"))
    return {"path": str(target), "size_bytes": target.stat().st_size, "card": str(card)}
