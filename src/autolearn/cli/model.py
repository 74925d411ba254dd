"""``autolearn model publish / list / show / download / delete``: published model versions
(``autolearn models`` lists the zoo of backbones; this group is about trained ones)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from autolearn.cli.output import console, err_console, fmt_metric, print_json, run, table

app = typer.Typer(no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON for scripts.")


def _size(n: int | None) -> str:
    value = float(n or 0)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def _metrics(metrics: dict[str, Any]) -> str:
    shown = [(k, v) for k, v in (metrics or {}).items() if isinstance(v, int | float)]
    return ", ".join(f"{k} {fmt_metric(v)}" for k, v in shown[:3])


def print_version(view: dict[str, Any]) -> None:
    """A version as a person reads it: what it is, where from, how good."""
    card = view.get("card") or {}
    dataset = card.get("dataset") or {}
    rows = [
        ["ref", view["ref"]],
        ["id", view["id"]],
        ["status", view["status"]],
        ["scenario", view["scenario"]],
        ["format / profile", f"{view['format']} / {view['profile']}"],
        ["size", _size(view["size_bytes"])],
        ["task", view["task_id"] if view["task_id"] is not None else card.get("task_id")],
        ["dataset", f"{dataset.get('ref')} ({str(dataset.get('content_hash') or '')[:12]})"],
        ["classes", ", ".join(map(str, view["classes"]))],
        ["metrics", _metrics(view["metrics"])],
        ["description", view["description"]],
        ["created", view["created_at"]],
    ]
    libraries = card.get("libraries") or {}
    rows.append(["libraries", ", ".join(f"{k} {v}" for k, v in libraries.items() if v)])
    services = view.get("services") or []
    rows.append(
        ["services", ", ".join(f"{s['id']} ({s['name']}, {s['status']})" for s in services)]
    )
    console.print(table(f"model {view['ref']}", ["", ""], [[k, escape(str(v))] for k, v in rows]))


@app.command("publish")
def publish(
    task_id: int = typer.Argument(..., help="The task whose model is published."),
    name: str = typer.Option(..., "--name", help="Model name; versions count up per name."),
    profile: str = typer.Option(
        "pytorch", "--profile", help="pytorch (model.pt) or an optimised profile: cpu-int8, …"
    ),
    description: str = typer.Option("", "--description", help="A note shown with the version."),
    json_out: bool = JSON,
) -> None:
    """Copy the task's model into the platform's store as NAME's next version."""
    from autolearn.cli.model_backend import current_models

    view = run(lambda: current_models().publish(task_id, name, profile, description))
    if json_out:
        print_json(view)
        return
    console.print(f"published [bold]{escape(view['ref'])}[/] (id {view['id']})", highlight=False)
    console.print(f"deploy it: autolearn service deploy {escape(view['ref'])}", highlight=False)


@app.command("list")
def list_(
    name: str | None = typer.Option(None, "--name", help="Only this model's versions."),
    limit: int = typer.Option(50, min=1, max=500, help="How many."),
    offset: int = typer.Option(0, min=0, help="How many to skip."),
    json_out: bool = JSON,
) -> None:
    """Published versions, newest first."""
    from autolearn.cli.model_backend import current_models

    page = run(lambda: current_models().list_versions(name, limit, offset))
    if json_out:
        print_json(page)
        return
    rows = [
        [
            v["id"],
            escape(v["ref"]),
            v["status"],
            v["scenario"],
            v["profile"],
            _size(v["size_bytes"]),
            _metrics(dict(list((v["metrics"] or {}).items())[:1])),
            v["created_at"][:10],
        ]
        for v in page["items"]
    ]
    columns = ["id", "ref", "status", "scenario", "profile", "size", "metric", "created"]
    shown = table(f"model versions ({page['total']})", columns, rows)
    for column in (shown.columns[1], shown.columns[-1]):
        column.no_wrap = True  # a reference is copied from here: never split it
    console.print(shown)


@app.command("show")
def show(
    ref: str = typer.Argument(..., help="name:vN, name (latest) or id."), json_out: bool = JSON
) -> None:
    """One version: its card (data, form, metrics, libraries) and the services using it."""
    from autolearn.cli.model_backend import current_models

    view = run(lambda: current_models().get_version(ref))
    print_json(view) if json_out else print_version(view)


@app.command("download")
def download(
    ref: str = typer.Argument(..., help="name:vN, name (latest) or id."),
    out: Path = typer.Option(Path("."), "--out", help="A file, or a folder for <name>-v<N>.pt."),
    json_out: bool = JSON,
) -> None:
    """Save the artifact (model.pt or model.onnx)."""
    from autolearn.cli.model_backend import current_models

    saved = run(lambda: current_models().download(ref, out))
    if json_out:
        print_json({"ref": ref, "path": str(saved), "size_bytes": saved.stat().st_size})
    else:
        console.print(f"saved {escape(str(saved))}", highlight=False)


@app.command("delete")
def delete(
    ref: str = typer.Argument(..., help="name:vN or id."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask."),
    json_out: bool = JSON,
) -> None:
    """Delete a version and its files; refused while a service uses it."""
    from autolearn.cli.model_backend import current_models

    backend = current_models()
    view = run(lambda: backend.get_version(ref))
    if view.get("services"):
        ids = ", ".join(str(s["id"]) for s in view["services"])
        err_console.print(
            f"[bold red]error:[/] {escape(view['ref'])} is used by service(s) {ids}; "
            f"delete those first (autolearn service delete ID)"
        )
        raise typer.Exit(2)
    if not yes and not typer.confirm(f"delete model version {view['ref']} and its files?"):
        raise typer.Exit(1)
    gone = run(lambda: backend.delete_version(str(view["id"])))
    if json_out:
        print_json(gone)
    else:
        console.print(f"deleted {escape(gone['ref'])}", highlight=False)
