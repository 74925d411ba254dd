"""``autolearn task create / list / show / stop / resume / copy / delete / logs``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape

from autolearn.cli.output import console, err_console, friendly_errors, print_json, run, table
from autolearn.cli.render import print_task, wait_for

if TYPE_CHECKING:
    from autolearn.cli.backend import Backend

app = typer.Typer(no_args_is_help=True)

JSON = typer.Option(False, "--json", help="Print JSON for scripts.")


def _flag_overrides(**flags: Any) -> dict[tuple[str, ...], Any]:
    """CLI flag → TaskSpec path; only flags the user gave."""
    paths = {
        "name": ("basic", "name"),
        "description": ("basic", "description"),
        "region": ("basic", "region"),
        "validation_percent": ("data", "validation_percent"),
        "pretrained": ("model", "pretrained"),
        "checkpoint": ("model", "checkpoint"),
        "preference": ("model", "preference"),
        "scenario": ("basic", "scenario"),
        "metric": ("model", "metric"),
        "target_accuracy": ("model", "expected_accuracy"),
        "max_duration": ("model", "max_duration"),
        "epochs": ("model", "hyperparams", "epochs"),
        "lr": ("model", "hyperparams", "lr"),
        "batch_size": ("model", "hyperparams", "batch_size"),
        "warmup": ("model", "hyperparams", "warmup"),
        "optimize_target": ("model", "optimization", "target"),
        "optimize_level": ("model", "optimization", "level"),
        "output": ("output", "path"),
        "resource_spec": ("resources", "spec"),
        "count": ("resources", "count"),
        "charge_type": ("resources", "charge_type"),
        "resource_group": ("resources", "resource_group"),
    }
    return {paths[k]: v for k, v in flags.items() if v is not None}


def build_spec_dict(
    file: Path | None,
    dataset: str | None,
    sample: str | None,
    incremental_from: int | None,
    **flags: Any,
) -> dict[str, Any]:
    """YAML file first, then flags on top of it."""
    from autolearn.tasks.service import load_spec_file

    data: dict[str, Any] = load_spec_file(file) if file else {}
    if dataset and sample:
        raise typer.BadParameter("give --dataset or --sample, not both")
    if dataset:
        data.setdefault("data", {})["source"] = {"type": "dataset", "dataset": dataset}
    if sample:
        data.setdefault("data", {})["source"] = {"type": "sample", "sample": sample}
    if incremental_from is not None:
        data.setdefault("data", {})["incremental"] = {
            "enabled": True,
            "base_task": incremental_from,
        }
    if "source" not in data.get("data", {}):
        raise typer.BadParameter(
            "say where the images come from: --dataset NAME, "
            "--sample digits / tableware, or data.source in the task file"
        )
    for path, value in _flag_overrides(**flags).items():
        node = data
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = _auto_or_number(value)
    return data


def _auto_or_number(value: Any) -> Any:
    if isinstance(value, str) and value.lower() == "auto":
        return "auto"
    return value


@app.command("create")
def create(
    file: Path | None = typer.Option(None, "-f", "--file", help="Task spec YAML file."),
    name: str | None = typer.Option(None, help="Task name."),
    description: str | None = typer.Option(None, help="Task description."),
    region: str | None = typer.Option(None, help="Worker pool (region)."),
    scenario: str | None = typer.Option(
        None, help="classification (default), detection or tableware."
    ),
    dataset: str | None = typer.Option(None, help="Dataset: name, name:vN or name@hash."),
    sample: str | None = typer.Option(
        None, help="Built-in sample data instead (digits, tableware)."
    ),
    validation_percent: float | None = typer.Option(None, help="Validation split percent."),
    incremental_from: int | None = typer.Option(None, help="Incremental: base task ID."),
    pretrained: str | None = typer.Option(None, help="Zoo model name, or auto."),
    checkpoint: str | None = typer.Option(None, help="Local weights file for the model."),
    preference: str | None = typer.Option(None, help="speed, balanced or accuracy."),
    metric: str | None = typer.Option(
        None, help="Metric to monitor: auto, accuracy, f1, map_50, map, map_75."
    ),
    target_accuracy: float | None = typer.Option(
        None, help="Stop when the val metric (accuracy / mAP@0.5) reaches this."
    ),
    max_duration: str | None = typer.Option(None, help="Longest training, e.g. 40s, 5m, 1h."),
    epochs: str | None = typer.Option(None, help="Epochs, or auto."),
    lr: str | None = typer.Option(None, help="Learning rate, or auto."),
    batch_size: str | None = typer.Option(None, help="Batch size, or auto."),
    warmup: str | None = typer.Option(None, help="Warm-up epochs, or auto."),
    optimize_target: str | None = typer.Option(None, help="none, cpu, gpu-t4, gpu-v100, gpu-a10."),
    optimize_level: str | None = typer.Option(None, help="NO_LOSS, FP16 or INT8."),
    output: str | None = typer.Option(None, help="Output storage URI."),
    resource_spec: str | None = typer.Option(None, "--resource-spec", help="e.g. cpu-2c8g."),
    count: int | None = typer.Option(None, help="Number of nodes."),
    charge_type: str | None = typer.Option(None, help="POSTPAID_BY_HOUR or PREPAID."),
    resource_group: str | None = typer.Option(None, help="Prepaid resource group (PREPAID)."),
    wait: bool = typer.Option(False, help="Follow training with a progress bar until it ends."),
    start_worker: bool = typer.Option(
        True, "--start-worker/--no-start-worker", help="Start a queue worker if none runs."
    ),
    json_out: bool = JSON,
) -> None:
    """Fill in the training-task form (file and/or flags) and queue the task."""
    from autolearn.cli.backend import current
    from autolearn.cli.billing import print_estimate
    from autolearn.tasks.service import parse_spec

    data = build_spec_dict(
        file,
        dataset,
        sample,
        incremental_from,
        name=name,
        description=description,
        region=region,
        scenario=scenario,
        metric=metric,
        validation_percent=validation_percent,
        pretrained=pretrained,
        checkpoint=checkpoint,
        preference=preference,
        target_accuracy=target_accuracy,
        max_duration=max_duration,
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        warmup=warmup,
        optimize_target=optimize_target,
        optimize_level=optimize_level,
        output=output,
        resource_spec=resource_spec,
        count=count,
        charge_type=charge_type,
        resource_group=resource_group,
    )
    spec = run(lambda: parse_spec(data, str(file) if file else "task options"))
    backend = current()
    print_estimate(spec, quiet=json_out)  # cost and ETA before queuing
    task = run(lambda: backend.create_task(spec))
    if not json_out:
        print_task(task, brief=True)
    if task["status"] == "SUBMIT_FAILED":  # refused at submission (e.g. the balance)
        if json_out:
            print_json(task)
        raise typer.Exit(1)
    if start_worker and not backend.remote:  # a server runs its own queue
        _ensure_worker(task["region"])
    if wait:
        task = wait_for(task["id"], quiet=json_out)
    if json_out:
        print_json(task)
    if wait and task["status"] not in ("SUCCEED",):
        raise typer.Exit(1)


def _ensure_worker(region: str) -> None:
    from autolearn.scheduler.supervisor import ensure_worker

    pid = ensure_worker(region)
    if pid:
        err_console.print(
            f"[dim]started a queue worker (pid {pid}) for region {region}[/]", highlight=False
        )


TASK_COLUMNS = [
    "id",
    "name",
    "status",
    "stop reason",
    "charge",
    "data",
    "model",
    "epoch",
    "val",
    "created",
]


@app.command("list")
def list_(
    status: str | None = typer.Option(None, help="Only tasks with this status."),
    limit: int = typer.Option(50, min=1, max=1000, help="At most this many (newest first)."),
    json_out: bool = JSON,
) -> None:
    """Tasks, newest first."""
    from autolearn.cli.backend import current

    tasks = run(lambda: current().list_tasks(status, limit))
    if json_out:
        print_json(tasks)
        return
    rows = [
        [
            t["id"],
            t["name"],
            t["status"],
            t["stop_reason"],
            t.get("billing_status"),
            t["dataset"],
            t["model"],
            f"{t['epoch']}/{t['total_epochs']}",
            _acc(t),
            t["created_at"][:19],
        ]
        for t in tasks
    ]
    console.print(
        table(
            "tasks",
            TASK_COLUMNS,
            rows,
        )
    )


def _acc(task: dict[str, Any]) -> str:
    """The monitored metric's best value, named (accuracy, map_50, ...)."""
    metric = task.get("metric") or "accuracy"
    value = (task.get("metrics") or {}).get(metric)
    return f"{metric} {value:.4f}" if isinstance(value, float) else ""


@app.command("show")
def show(task_id: int = typer.Argument(..., help="Task ID."), json_out: bool = JSON) -> None:
    """Status, stop reason, metrics, advice and the evaluation report."""
    from autolearn.cli.backend import current

    task = run(lambda: current().show_task(task_id))
    if json_out:
        print_json(task)
        return
    print_task(task)


@app.command("stop")
def stop(task_id: int = typer.Argument(..., help="Task ID."), json_out: bool = JSON) -> None:
    """Stop a task; a running one keeps its best model so far."""
    from autolearn.cli.backend import current

    task = run(lambda: current().stop_task(task_id))
    if json_out:
        print_json(task)
        return
    console.print(f"task {task_id}: {task['status']}")


@app.command("resume")
def resume(
    task_id: int = typer.Argument(..., help="Task ID."),
    wait: bool = typer.Option(False, help="Follow it until it ends."),
    start_worker: bool = typer.Option(True, "--start-worker/--no-start-worker"),
    json_out: bool = JSON,
) -> None:
    """Continue a stopped or failed task from its last checkpoint."""
    from autolearn.cli.backend import current

    backend = current()
    task = run(lambda: backend.resume_task(task_id))
    if start_worker and not backend.remote:
        _ensure_worker(task["region"])
    if wait:
        task = wait_for(task_id, quiet=json_out)
    if json_out:
        print_json(task)
    else:
        console.print(f"task {task_id}: {task['status']}")


@app.command("copy")
def copy(
    task_id: int = typer.Argument(..., help="Task ID to copy."),
    name: str | None = typer.Option(None, help="The copy's name (default: '<name>-copy')."),
    start_worker: bool = typer.Option(
        True, "--start-worker/--no-start-worker", help="Start a queue worker if none runs."
    ),
    json_out: bool = JSON,
) -> None:
    """Queue a new task from another's form: the same pinned dataset version and settings,
    its own output folder."""
    from autolearn.cli.backend import current

    backend = current()
    task = run(lambda: backend.copy_task(task_id, name))
    if json_out:
        print_json(task)
    else:
        print_task(task, brief=True)
    if start_worker and not backend.remote:  # a server runs its own queue
        _ensure_worker(task["region"])


@app.command("delete")
def delete(
    task_id: int = typer.Argument(..., help="Task ID."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Delete without asking."),
    json_out: bool = JSON,
) -> None:
    """Delete a finished task with its artifacts (checkpoints, model, report), events and
    logs; a queued or running task must be stopped first."""
    from autolearn.cli.backend import current

    backend = current()
    if not yes:
        _confirm_delete(backend, task_id)
    deleted = run(lambda: backend.delete_task(task_id))
    if json_out:
        print_json(deleted)
        return
    console.print(
        f"deleted task {task_id} ({escape(deleted['name'])}): {deleted['removed_objects']} "
        f"objects removed from {escape(deleted['output_uri'])}",
        highlight=False,
    )


def _confirm_delete(backend: Backend, task_id: int) -> None:
    """Ask before deleting, but refuse an active task first (in the service's words):
    a question whose yes cannot be carried out wastes the user's answer."""
    from autolearn.tasks.errors import TaskStateError
    from autolearn.tasks.lifecycle import active_refusal

    task = run(lambda: backend.get_task(task_id))
    refusal = active_refusal(task_id, task["status"])
    if refusal:
        with friendly_errors():
            raise TaskStateError(refusal)
    typer.confirm(
        f"Delete task {task_id} ({task['name']}, {task['status']}) and its artifacts under "
        f"{task['output_uri']}?",
        abort=True,
        err=True,  # stdout stays clean for --json
    )


@app.command("logs")
def logs(
    task_id: int = typer.Argument(..., help="Task ID."),
    follow: bool = typer.Option(False, "-f", "--follow", help="Keep printing until it ends."),
    json_out: bool = JSON,
) -> None:
    """The task's log lines (advice, progress, errors)."""
    import time
    from functools import partial

    from rich.markup import escape

    from autolearn.cli.backend import current
    from autolearn.tasks.states import TERMINAL, Status

    backend = current()
    last = 0
    while True:
        lines = run(partial(backend.task_logs, task_id, last))
        for line in lines:
            if json_out:
                print_json(line)
            else:
                console.print(
                    f"[dim]{line['ts'][:19]}[/] {line['level']:<7} {escape(line['message'])}",
                    highlight=False,
                )
            last = line["id"]
        if not follow or Status(run(lambda: backend.get_task(task_id))["status"]) in TERMINAL:
            return
        time.sleep(1.0)


def _register_optimisation() -> None:
    """``task optimize`` and ``task export`` live in their own module."""
    from autolearn.cli import task_optimize

    app.command("optimize")(task_optimize.optimize)
    app.command("export")(task_optimize.export)


_register_optimisation()
