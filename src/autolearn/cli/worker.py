"""``autolearn worker`` (the queue runner) and ``autolearn models`` (the zoo)."""

from __future__ import annotations

import logging

import typer

from autolearn.cli.output import console, print_json, table


def worker(
    region: str = typer.Option("local", help="Worker pool (region) whose queue to run."),
    slots: int = typer.Option(0, min=0, help="Tasks at once; 0 uses AUTOLEARN_LOCAL_SLOTS."),
    idle_exit: float = typer.Option(
        -1.0, help="Exit after the queue was empty this many seconds; negative: never."
    ),
) -> None:
    """Claim queued tasks and run each in its own worker process."""
    from autolearn.scheduler.supervisor import Supervisor

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    sup = Supervisor(
        region=region, slots=slots or None, idle_exit_s=idle_exit if idle_exit >= 0 else None
    )
    console.print(f"queue worker for region [bold]{region}[/], {sup.slots} slot(s)")
    sup.run()


def models(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """The pretrained models a task can start from."""
    from autolearn.models.zoo import ZOO, entry_metadata

    entries = [entry_metadata(ZOO.get(n)) for n in ZOO.names()]
    if json_out:
        print_json(entries)
        return
    rows = [
        [
            e["name"],
            e["input_size"],
            e["params_m"],
            "yes" if e["has_weights"] else "no",
            e["license"],
            e["source"],
        ]
        for e in entries
    ]
    console.print(
        table("model zoo", ["name", "input", "params (M)", "pretrained", "license", "source"], rows)
    )
