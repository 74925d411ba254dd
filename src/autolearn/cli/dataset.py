"""``autolearn dataset import / list / show``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from autolearn.cli.output import console, print_json, run, table

app = typer.Typer(no_args_is_help=True)


@app.command("import")
def import_(
    path: Path | None = typer.Argument(None, help="A folder or .zip of class folders."),
    name: str | None = typer.Option(None, help="Dataset name (default: folder/zip name)."),
    fmt: str = typer.Option("auto", "--format", help="Dataset format, or auto-detect."),
    sample: str | None = typer.Option(None, help="Import a built-in sample instead (digits)."),
    description: str = typer.Option("", help="Free text."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Validate and store a dataset as a new immutable version."""
    from autolearn.datasets.service import ensure_sample, import_dataset

    if (path is None) == (sample is None):
        raise typer.BadParameter("give a PATH or --sample NAME (one of them)")
    if sample:
        info = run(lambda: ensure_sample(sample))
    else:
        assert path is not None
        info = run(lambda: import_dataset(path, name=name, fmt=fmt, description=description))
    data = info.to_dict()
    if json_out:
        print_json(data)
        return
    console.print(
        f"imported [bold]{data['ref']}[/] ({data['num_images']} images, "
        f"hash {data['content_hash'][:12]})"
    )
    _print_counts(data)
    for warning in data.get("report", {}).get("warnings", []):
        console.print(f"[yellow]warning:[/] {warning}")


def _print_counts(data: dict[str, Any]) -> None:
    counts = data["class_counts"]
    splits = sorted(counts)
    rows = [[c, *[counts[s].get(c, 0) for s in splits]] for c in data["classes"]]
    console.print(table(None, ["class", *splits], rows))


@app.command("list")
def list_(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Datasets with their latest version."""
    from autolearn.datasets.service import list_datasets

    items = run(list_datasets)
    if json_out:
        print_json(items)
        return
    rows = [
        [
            d.get("name"),
            d.get("latest"),
            d.get("versions"),
            d.get("num_images"),
            ", ".join(d.get("classes", [])[:8]),
        ]
        for d in items
    ]
    console.print(table("datasets", ["name", "latest", "versions", "images", "classes"], rows))


@app.command("show")
def show(
    ref: str = typer.Argument(..., help="Dataset name, name:vN or name@hash."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """One dataset version: classes, counts, import report."""
    from autolearn.datasets.service import resolve_version

    data = run(lambda: resolve_version(ref)).to_dict()
    if json_out:
        print_json(data)
        return
    console.print(
        f"[bold]{data['ref']}[/]  hash {data['content_hash']}  "
        f"{data['num_images']} images  fixed val: {data['has_fixed_val']}"
    )
    _print_counts(data)
    for warning in data.get("report", {}).get("warnings", []):
        console.print(f"[yellow]warning:[/] {warning}")
