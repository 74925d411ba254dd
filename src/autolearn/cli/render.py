"""Rich views of a task: the summary, the evaluation tables, and the live progress bar."""

from __future__ import annotations

import time
from typing import Any

from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from autolearn.cli.output import console, fmt_metric, fmt_seconds, table

POLL_S = 0.5
SUMMARY_KEYS = {
    "classification": ("accuracy", "precision", "recall", "f1", "loss"),
    "detection": ("map_50", "map", "map_75", "precision", "recall", "f1"),
}


def metric_of(task: dict[str, Any]) -> str:
    """The metric the task monitors (plans before detection existed: accuracy)."""
    return str((task.get("plan") or {}).get("metric") or "accuracy")


def _is_detection(task: dict[str, Any]) -> bool:
    return task.get("scenario") in ("detection", "tableware")


def print_task(task: dict[str, Any], brief: bool = False) -> None:
    """Header, advice, plan (brief) or metrics and per-class results (full)."""
    console.print(
        f"task [bold]{task['id']}[/] {escape(task['name'])}: [bold]{task['status']}[/]"
        + (f"  stop reason: {task['stop_reason']}" if task.get("stop_reason") else ""),
        highlight=False,
    )
    if task.get("message"):
        console.print(f"  {escape(task['message'])}", highlight=False)
    if task.get("billing"):
        bill = task["billing"]
        console.print(
            f"  billing {task['billing_status']}: {bill['charge_type']} {bill['spec']} × "
            f"{bill['nodes']}, cost {bill['cost']} for {fmt_seconds(bill['billed_s'])}, "
            f"frozen {bill['frozen']}",
            highlight=False,
        )
    for advice in task.get("advice", []):
        colour = "yellow" if advice["level"] == "warning" else "cyan"
        mark = " (applied)" if advice.get("applied") else ""
        console.print(f"  [{colour}]advice:[/] {escape(advice['message'])}{mark}", highlight=False)
    plan = task.get("plan") or {}
    if plan:
        unit = "boxes" if _is_detection(task) else "images"
        model = f"{plan['arch']} on {plan['model']}" if plan.get("arch") else plan["model"]
        console.print(
            f"  data {task['dataset']}: {sum(plan['train_counts'].values())} train / "
            f"{sum(plan['val_counts'].values())} val {unit}, "
            f"{_count(len(plan['classes']), 'class')}; "
            f"model {model} @ {plan['input_size']} px; metric {metric_of(task)}; "
            f"epochs {plan['epochs']}, "
            f"batch {plan['batch_size']}, lr {plan['lr']:g}, warmup {plan['warmup_epochs']:g}; "
            f"max {fmt_seconds(plan['max_duration_s'])}, estimate "
            f"{fmt_seconds(plan['estimated_train_s'])}",
            highlight=False,
        )
    if brief:
        return
    print_results(task)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "es" if noun.endswith("s") else "s")


def print_results(task: dict[str, Any]) -> None:
    metrics = task.get("metrics") or {}
    detection = _is_detection(task)
    if metrics:
        wanted = SUMMARY_KEYS["detection" if detection else "classification"]
        keys = [k for k in wanted if k in metrics]
        console.print(
            table(
                f"validation (best epoch {metrics.get('best_epoch')})",
                keys,
                [[fmt_metric(metrics[k]) for k in keys]],
            )
        )
    report = task.get("report")
    if report and detection:
        _print_detection_report(report)
    elif report:
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
        console.print(f"predict: autolearn predict {task['id']} IMAGES...", highlight=False)
    if task.get("report_uri"):
        console.print(f"report: {task['report_uri']}", highlight=False)


def _print_detection_report(report: dict[str, Any]) -> None:
    """Per-class AP and the score thresholds stored with the model."""
    thresholds = report.get("score_thresholds") or {}
    rows = [
        [
            r["class"],
            r["support"],
            fmt_metric(r.get("ap_50")),
            fmt_metric(r.get("ap")),
            fmt_metric(r.get("precision")),
            fmt_metric(r.get("recall")),
            fmt_metric(thresholds.get(r["class"])),
        ]
        for r in report["per_class"]
    ]
    console.print(
        table(
            f"per class (precision/recall at score {report.get('score_threshold', 0.5):g}, "
            "IoU 0.5)",
            ["class", "boxes", "AP@0.5", "AP", "precision", "recall", "threshold (best F1)"],
            rows,
        )
    )
    inc = report.get("incremental")
    if inc:
        for name in inc["base_classes"]:
            console.print(
                f"base class {name}: AP@0.5 {fmt_metric(inc['base_model_ap_50'].get(name))} "
                f"with the base model, {fmt_metric(inc['new_model_ap_50'].get(name))} now"
            )


def _epoch_line(event: dict[str, Any], metric: str) -> str:
    data = event["data"]
    val = data.get("val", {})
    train = (
        "before training" if event["epoch"] == 0 else f"train loss {data.get('train_loss', 0):.4f}"
    )
    notes = ("  (partial epoch)" if data.get("partial_epoch") else "") + (
        "  (best)" if data.get("best") else ""
    )
    loss = f"  val loss {val['loss']:.4f}" if val.get("loss") else ""
    return f"epoch {event['epoch']}: {train}{loss}  val {metric} {val.get(metric, 0):.4f}{notes}"


def wait_for(task_id: int, quiet: bool = False) -> dict[str, Any]:
    """Follow a task with a live progress bar until it reaches a final status."""
    from autolearn.cli.backend import current
    from autolearn.tasks.states import TERMINAL, Status

    backend = current()

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("steps  ETA {task.fields[eta]}"),
        TimeElapsedColumn(),
        TextColumn("{task.fields[metric]}"),
    )
    last_event, shown = 0, ""
    with Progress(*columns, console=console, disable=quiet, transient=False) as bar:
        bar_id = bar.add_task("queued", total=None, eta="-", metric="")
        while True:
            task = backend.get_task(task_id)
            metric = metric_of(task)
            for event in backend.task_events(task_id, last_event, "epoch"):
                last_event = event["id"]
                val = event["data"].get("val", {})
                shown = f"val {metric} {val.get(metric, 0):.4f}"
                if not quiet:
                    bar.console.print(_epoch_line(event, metric), highlight=False)
            bar.update(
                bar_id,
                description=f"{task['status']} epoch {task['epoch']}/{task['total_epochs']}",
                completed=task["step"],
                total=task["total_steps"] or None,
                eta=fmt_seconds(task["eta_s"]),
                metric=shown,
            )
            if Status(task["status"]) in TERMINAL:
                break
            time.sleep(POLL_S)
    task = backend.show_task(task_id)
    if not quiet:
        print_task(task)
    return task
