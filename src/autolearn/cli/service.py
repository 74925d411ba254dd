"""``autolearn service deploy / list / show / stop / start / delete / predict``: online
prediction services, served by ``autolearn server`` at ``/api/v1/services/ID/predict``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from autolearn.cli.output import console, err_console, print_json, run, table

app = typer.Typer(no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON for scripts.")


def _config(view: dict[str, Any]) -> str:
    c = view["config"]
    if not c["micro_batching"]:
        return f"no batching, queue {c['queue_size']}"
    return f"batch ≤{c['max_batch']}, wait {c['max_wait_ms']:g} ms, queue {c['queue_size']}"


def print_service(view: dict[str, Any]) -> None:
    rows = [
        ["id", view["id"]],
        ["name", view["name"]],
        ["status", view["status"]],
        ["model", f"{view['model']['ref']} ({view['model']['format']})"],
        ["scenario", view["model"]["scenario"]],
        ["config", _config(view)],
        ["endpoint", f"POST {view['endpoint']}"],
        ["created", view["created_at"]],
    ]
    console.print(table(f"service {view['id']}", ["", ""], [[k, escape(str(v))] for k, v in rows]))


@app.command("deploy")
def deploy(
    model: str = typer.Argument(..., help="Model version: name:vN, name (latest) or id."),
    name: str | None = typer.Option(None, "--name", help="Service name (default <model>-v<N>)."),
    max_batch: int = typer.Option(16, "--max-batch", min=1, max=256, help="Largest batch."),
    max_wait_ms: float = typer.Option(
        5.0, "--max-wait-ms", min=0, max=1000, help="How long a batch waits for more requests."
    ),
    queue_size: int = typer.Option(
        64, "--queue-size", min=1, max=10_000, help="Waiting requests beyond this get 429."
    ),
    micro_batching: bool = typer.Option(
        True, "--micro-batching/--no-micro-batching", help="Gather concurrent requests."
    ),
    threads: int | None = typer.Option(None, "--threads", min=1, help="ONNX Runtime threads."),
    json_out: bool = JSON,
) -> None:
    """Serve a published model version from the API server (`autolearn server`)."""
    from autolearn.cli.model_backend import current_models

    config = {
        "max_batch": max_batch,
        "max_wait_ms": max_wait_ms,
        "queue_size": queue_size,
        "micro_batching": micro_batching,
        "threads": threads,
    }
    view = run(lambda: current_models().deploy(model, name, config))
    if json_out:
        print_json(view)
        return
    console.print(
        f"service {view['id']} ({escape(view['name'])}) serves {escape(view['model']['ref'])} "
        f"at POST {view['endpoint']} on `autolearn server`",
        highlight=False,
    )


@app.command("list")
def list_(
    limit: int = typer.Option(50, min=1, max=500, help="How many."),
    offset: int = typer.Option(0, min=0, help="How many to skip."),
    json_out: bool = JSON,
) -> None:
    """Services, newest first."""
    from autolearn.cli.model_backend import current_models

    page = run(lambda: current_models().list_services(limit, offset))
    if json_out:
        print_json(page)
        return
    rows = [
        [
            s["id"],
            escape(s["name"]),
            s["status"],
            escape(s["model"]["ref"]),
            s["model"]["format"],
            _config(s),
            s["created_at"][:10],
        ]
        for s in page["items"]
    ]
    columns = ["id", "name", "status", "model", "format", "config", "created"]
    shown = table(f"services ({page['total']})", columns, rows)
    for column in (shown.columns[1], shown.columns[3]):
        column.no_wrap = True
    console.print(shown)


@app.command("show")
def show(service_id: int = typer.Argument(..., help="Service id."), json_out: bool = JSON) -> None:
    from autolearn.cli.model_backend import current_models

    view = run(lambda: current_models().get_service(service_id))
    print_json(view) if json_out else print_service(view)


def _set(action: str, service_id: int, json_out: bool) -> None:
    from autolearn.cli.model_backend import current_models

    backend = current_models()
    view = run(lambda: getattr(backend, f"{action}_service")(service_id))
    if json_out:
        print_json(view)
    else:
        console.print(f"service {service_id}: {view['status']}", highlight=False)


@app.command("stop")
def stop(service_id: int = typer.Argument(..., help="Service id."), json_out: bool = JSON) -> None:
    """Stop answering (503) and free the model; `service start` serves it again."""
    _set("stop", service_id, json_out)


@app.command("start")
def start(service_id: int = typer.Argument(..., help="Service id."), json_out: bool = JSON) -> None:
    """Serve a stopped service again."""
    _set("start", service_id, json_out)


@app.command("delete")
def delete(
    service_id: int = typer.Argument(..., help="Service id."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask."),
    json_out: bool = JSON,
) -> None:
    """Delete the service (its model version stays published)."""
    from autolearn.cli.model_backend import current_models

    backend = current_models()
    view = run(lambda: backend.get_service(service_id))
    if not yes and not typer.confirm(f"delete service {service_id} ({view['name']})?"):
        raise typer.Exit(1)
    gone = run(lambda: backend.delete_service(service_id))
    if json_out:
        print_json(gone)
    else:
        console.print(f"deleted service {service_id}", highlight=False)


@app.command("predict")
def predict(
    service_id: int = typer.Argument(..., help="Service id."),
    image: Path = typer.Argument(..., help="An image file."),
    top_k: int = typer.Option(5, "--top-k", min=1, max=100, help="Classification: classes."),
    threshold: float | None = typer.Option(
        None, min=0.0, max=1.0, help="Detection: one score threshold for every class."
    ),
    json_out: bool = JSON,
) -> None:
    """One image through the service (with --server: its endpoint; without: its model,
    loaded here once)."""
    from autolearn.cli.model_backend import current_models

    if not image.is_file():
        err_console.print(f"[bold red]error:[/] no such file: {escape(str(image))}")
        raise typer.Exit(2)
    result = run(lambda: current_models().predict(service_id, image, top_k, threshold))
    if json_out:
        print_json(result)
        return
    detection = "detections" in result
    items = result["detections"] if detection else result["predictions"]
    rows = [
        [escape(i["label"]), f"{i['score']:.4f}", ", ".join(f"{v:.1f}" for v in i["box"])]
        if detection
        else [escape(i["label"]), f"{i['score']:.4f}", str(n + 1)]
        for n, i in enumerate(items)
    ]
    title = f"{escape(str(image))} ({result['width']}×{result['height']}) by {result['model']}"
    last = "box (x1, y1, x2, y2)" if detection else "rank"
    console.print(table(title, ["label", "score", last], rows))
    console.print(f"{result['latency_ms']:.1f} ms", highlight=False)
