"""Rich views of a task: the summary, the evaluation tables, and the live progress bar."""

from __future__ import annotations

import time
from typing import Any

from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from autolearn.cli.output import console, fmt_metric, fmt_seconds, table

POLL_S = 0.5


def print_task(task: dict[str, Any], brief: bool = False) -> None:
    """Header, advice, plan (brief) or metrics and per-class results (full)."""
    console.print(
        f"task [bold]{task['id']}[/] {escape(task['name'])}: [bold]{task['status']}[/]"
        + (f"  stop reason: {task['stop_reason']}" if task.get("stop_reason") else ""),
        highlight=False,
    )
    if task.get("message"):
        console.print(f"  {escape(task['message'])}", highlight=False)
    for advice in task.get("advice", []):
        colour = "yellow" if advice["level"] == "warning" else "cyan"
        mark = " (applied)" if advice.get("applied") else ""
        console.print(f"  [{colour}]advice:[/] {escape(advice['message'])}{mark}", highlight=False)
    plan = task.get("plan") or {}
    if plan:
        console.print(
            f"  data {task['dataset']}: {sum(plan['train_counts'].values())} train / "
            f"{sum(plan['val_counts'].values())} val images, {len(plan['classes'])} classes; "
            f"model {plan['model']} @ {plan['input_size']} px; epochs {plan['epochs']}, "
            f"batch {plan['batch_size']}, lr {plan['lr']:g}, warmup {plan['warmup_epochs']:g}; "
            f"max {fmt_seconds(plan['max_duration_s'])}, estimate "
            f"{fmt_seconds(plan['estimated_train_s'])}",
            highlight=False,
        )
    if brief:
        return
    print_results(task)


def print_results(task: dict[str, Any]) -> None:
    metrics = task.get("metrics") or {}
    if metrics:
        keys = [k for k in ("accuracy", "precision", "recall", "f1", "loss") if k in metrics]
        console.print(
            table(
                f"validation (best epoch {metrics.get('best_epoch')})",
                keys,
                [[fmt_metric(metrics[k]) for k in keys]],
            )
        )
    report = task.get("report")
    if report:
        rows = [
            [
                r["class"],
                r["support"],
                fmt_metric(r["precision"]),
                fmt_metric(r["recall"]),
                fmt_metric(r["f1"]),
            ]
            for r in report["per_class"]
        ]
        console.print(table("per class", ["class", "images", "precision", "recall", "f1"], rows))
        inc = report.get("incremental")
        if inc:
            console.print(
                f"base classes ({', '.join(inc['base_classes'])}): accuracy "
                f"{fmt_metric(inc['base_model_base_class_accuracy'])} with the base "
                f"model, {fmt_metric(inc['new_model_base_class_accuracy'])} now"
            )
    if task.get("model_uri"):
        console.print(f"model: {task['model_uri']}", highlight=False)
    if task.get("report_uri"):
        console.print(f"report: {task['report_uri']}", highlight=False)


def _epoch_line(event: dict[str, Any]) -> str:
    data = event["data"]
    val = data.get("val", {})
    train = (
        "before training" if event["epoch"] == 0 else f"train loss {data.get('train_loss', 0):.4f}"
    )
    notes = ("  (partial epoch)" if data.get("partial_epoch") else "") + (
        "  (best)" if data.get("best") else ""
    )
    return (
        f"epoch {event['epoch']}: {train}  val loss {val.get('loss', 0):.4f}  "
        f"val acc {val.get('accuracy', 0):.4f}{notes}"
    )


def wait_for(task_id: int, quiet: bool = False) -> dict[str, Any]:
    """Follow a task with a live progress bar until it reaches a final status."""
    from autolearn.tasks.results import read_report
    from autolearn.tasks.service import get_task, task_events
    from autolearn.tasks.states import TERMINAL, Status

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("steps  ETA {task.fields[eta]}"),
        TimeElapsedColumn(),
        TextColumn("{task.fields[metric]}"),
    )
    last_event, metric = 0, ""
    with Progress(*columns, console=console, disable=quiet, transient=False) as bar:
        bar_id = bar.add_task("queued", total=None, eta="-", metric="")
        while True:
            task = get_task(task_id)
            for event in task_events(task_id, after_id=last_event, kind="epoch"):
                last_event = event["id"]
                val = event["data"].get("val", {})
                metric = f"val acc {val.get('accuracy', 0):.4f}"
                if not quiet:
                    bar.console.print(_epoch_line(event), highlight=False)
            bar.update(
                bar_id,
                description=f"{task['status']} epoch {task['epoch']}/{task['total_epochs']}",
                completed=task["step"],
                total=task["total_steps"] or None,
                eta=fmt_seconds(task["eta_s"]),
                metric=metric,
            )
            if Status(task["status"]) in TERMINAL:
                break
            time.sleep(POLL_S)
    task["report"] = read_report(task)
    if not quiet:
        print_task(task)
    return task
