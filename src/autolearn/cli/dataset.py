"""``autolearn dataset import / list / show / delete / export / split / samples``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, cast

import typer
from rich.markup import escape

from autolearn.cli.output import console, err_console, friendly_errors, print_json, run, table

app = typer.Typer(no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON for scripts.")
MAX_PROBLEM_ROWS = 40


@app.command("import")
def import_(
    path: Path | None = typer.Argument(None, help="A folder or .zip in any supported format."),
    name: str | None = typer.Option(None, help="Dataset name (default: folder/zip name)."),
    fmt: str = typer.Option("auto", "--format", help="Force a format, or auto-detect."),
    task: str | None = typer.Option(
        None, "--task", help="classification or detection, when the format allows both."
    ),
    policy: str = typer.Option(
        "strict", help="strict: any error refuses the import; lenient: skip bad items."
    ),
    sample: str | None = typer.Option(None, help="Import a built-in sample instead."),
    description: str = typer.Option("", help="Free text."),
    json_out: bool = JSON,
) -> None:
    """Validate and store a dataset as a new immutable version."""
    from autolearn.cli.backend import current
    from autolearn.datasets.formats.base import DatasetImportError
    from autolearn.datasets.service import ensure_sample
    from autolearn.sdk.client import ApiError

    if (path is None) == (sample is None):
        raise typer.BadParameter("give a PATH or --sample NAME (one of them)")
    if policy not in ("strict", "lenient"):
        raise typer.BadParameter("--policy is strict or lenient")
    try:
        backend = current()
        if sample:
            if backend.remote:
                raise typer.BadParameter("samples are built on the server by tasks that use them")
            data = run(lambda: ensure_sample(sample)).to_dict()
        else:
            assert path is not None
            data = backend.import_dataset(
                path,
                name=name,
                fmt=fmt,
                description=description,
                policy=cast(Literal["strict", "lenient"], policy),
                scenario=task,
            )
    except (DatasetImportError, ApiError) as exc:
        if isinstance(exc, ApiError) and exc.code != "import_refused":
            with friendly_errors():  # any other server error: printed as usual
                raise exc
        report = getattr(exc, "report", None) or getattr(exc, "body", {}).get("report")
        message = getattr(exc, "message", None) or str(exc)
        if json_out:
            print_json({"error": message, "report": report})
        else:
            if report:
                print_problems(report)
            err_console.print(f"[bold red]import refused:[/] {escape(message)}")
        raise typer.Exit(2) from None
    if json_out:
        print_json(data)
        return
    console.print(
        f"imported [bold]{data['ref']}[/] ({data['num_images']} images, "
        f"hash {data['content_hash'][:12]})",
        highlight=False,
    )
    print_version(data, brief=True)


def print_version(data: dict[str, Any], brief: bool = False) -> None:
    """Class table, report problems and health findings of a version."""
    counts = data["class_counts"]
    splits = sorted(k for k in counts if isinstance(counts[k], dict))
    rows = [[c, *[counts[s].get(c, 0) for s in splits]] for c in data["classes"]]
    what = "boxes" if data.get("scenario") == "detection" else "images"
    console.print(table(f"{what} per class", ["class", *splits], rows))
    report = data.get("report") or {}
    print_problems(report, brief=brief)
    for finding in report.get("health", []):
        colour = "yellow" if finding.get("severity") == "warning" else "cyan"
        console.print(
            f"[{colour}]{finding.get('code')}:[/] {escape(finding.get('message', ''))}"
            f" — {escape(finding.get('suggestion', ''))}",
            highlight=False,
        )


def print_problems(report: dict[str, Any], brief: bool = False) -> None:
    problems = report.get("problems") or []
    if problems:
        shown = problems[: MAX_PROBLEM_ROWS // (2 if brief else 1)]
        rows = [
            [p.get("severity"), p.get("code"), p.get("file"), p.get("message"), p.get("action", "")]
            for p in shown
        ]
        console.print(
            table(
                f"validation report ({len(problems)} findings)",
                ["severity", "code", "file", "message", "action"],
                rows,
            )
        )
        if len(problems) > len(shown):
            console.print(f"… {len(problems) - len(shown)} more (use --json for all)")
    for warning in report.get("warnings", []):
        console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)


@app.command("list")
def list_(json_out: bool = JSON) -> None:
    """Datasets with their latest version."""
    from autolearn.cli.backend import current

    items = run(current().list_datasets)
    if json_out:
        print_json(items)
        return
    rows = [
        [
            d.get("name"),
            d.get("scenario"),
            d.get("latest"),
            d.get("versions"),
            d.get("num_images"),
            ", ".join(d.get("classes", [])[:8]),
        ]
        for d in items
    ]
    console.print(
        table("datasets", ["name", "scenario", "latest", "versions", "images", "classes"], rows)
    )


@app.command("show")
def show(
    ref: str = typer.Argument(..., help="Dataset name, name:vN, name@hash or version id."),
    json_out: bool = JSON,
) -> None:
    """One dataset version: stats, class table, validation report, lineage."""
    from autolearn.cli.backend import current

    data = run(lambda: current().show_version(ref))
    if json_out:
        print_json(data)
        return
    console.print(
        f"[bold]{data['ref']}[/] ({data.get('scenario')})  hash "
        f"{data['content_hash']}  {data['num_images']} images  fixed val: "
        f"{data['has_fixed_val']}",
        highlight=False,
    )
    if data.get("source"):
        console.print(f"source: {escape(data['source'])}", highlight=False)
    if data.get("changes"):
        console.print(f"changes from its parent: {data['changes']}", highlight=False)
    print_version(data)


@app.command("delete")
def delete(
    name: str = typer.Argument(..., help="Dataset name."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Delete without asking."),
    json_out: bool = JSON,
) -> None:
    """Delete a dataset with every version and labelling draft (its owner or an admin).
    Refused while a task uses one of its versions: a task keeps the data it trained on.
    Image files stay in the store: they are stored by content and may be shared."""
    from autolearn.cli.backend import current

    backend = current()
    if not yes:
        dataset = run(lambda: backend.get_dataset(name))
        versions = ", ".join(v["ref"] for v in dataset["versions"]) or "no versions"
        typer.confirm(f"Delete dataset {name} ({versions})?", abort=True, err=True)
    deleted = run(lambda: backend.delete_dataset(name))
    if json_out:
        print_json(deleted)
        return
    numbers = ", ".join(f"v{n}" for n in deleted["deleted_versions"]) or "no versions"
    console.print(f"deleted dataset {escape(deleted['name'])} ({numbers})", highlight=False)


@app.command("export")
def export(
    ref: str = typer.Argument(..., help="Dataset version to export."),
    dest: Path = typer.Argument(..., help="Empty or new folder to write."),
    fmt: str = typer.Option(..., "--format", help="Format to write (see `dataset formats`)."),
    json_out: bool = JSON,
) -> None:
    """Write a version in any format; importing the export gives the same content hash."""
    from autolearn.datasets.export import export_version

    summary = run(lambda: export_version(ref, fmt, dest))
    if json_out:
        print_json(summary)
        return
    console.print(
        f"exported {summary['version']} ({summary['images']} images) as "
        f"{summary['format']} to {summary['dest']}",
        highlight=False,
    )


@app.command("split")
def split(
    ref: str = typer.Argument(..., help="Dataset version to split."),
    val_percent: float = typer.Option(20.0, help="Validation share in percent."),
    by: str = typer.Option(
        "stratified", help="stratified, group (the group column), pattern or runs."
    ),
    pattern: str = typer.Option("", help="Regex on file names: group key / shot number."),
    max_gap: int = typer.Option(1, help="runs: a larger gap between numbers starts a run."),
    seed: int = typer.Option(0, help="Seed of the split."),
    json_out: bool = JSON,
) -> None:
    """Fix a train/validation split as a new version (lineage records how)."""
    from autolearn.datasets.splitting import split_version

    if by not in ("stratified", "group", "pattern", "runs"):
        raise typer.BadParameter("--by is stratified, group, pattern or runs")
    info = run(lambda: split_version(ref, val_percent, by, pattern, max_gap, seed))  # type: ignore[arg-type]
    data = info.to_dict()
    if json_out:
        print_json(data)
        return
    console.print(f"{data['ref']}: {escape(data.get('source', ''))}", highlight=False)
    print_version(data, brief=True)


@app.command("samples")
def samples(json_out: bool = JSON) -> None:
    """Built-in sample datasets (usable as a task's sample data)."""
    from autolearn.datasets.samples import SAMPLES

    rows = [
        {"name": n, "scenario": SAMPLES.get(n).scenario, "description": SAMPLES.get(n).description}
        for n in SAMPLES.names()
    ]
    if json_out:
        print_json(rows)
        return
    console.print(
        table(
            "sample datasets",
            ["name", "scenario", "description"],
            [[r["name"], r["scenario"], r["description"]] for r in rows],
        )
    )


@app.command("formats")
def formats(json_out: bool = JSON) -> None:
    """Dataset formats that import and export."""
    from autolearn.datasets.formats import FORMATS

    rows = [
        {
            "name": n,
            "scenarios": list(FORMATS.get(n).scenarios),
            "description": FORMATS.get(n).description,
        }
        for n in FORMATS.names()
    ]
    if json_out:
        print_json(rows)
        return
    console.print(
        table(
            "dataset formats",
            ["name", "scenarios", "description"],
            [[r["name"], ", ".join(r["scenarios"]), r["description"]] for r in rows],
        )
    )
