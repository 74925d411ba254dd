"""``autolearn``: the command line. Heavy modules load inside commands, so ``--help``
answers at once."""

from __future__ import annotations

import typer

from autolearn.cli import admin, billing, dataset, model, predict, server, service, task, worker

app = typer.Typer(
    name="autolearn",
    help="Self-hosted AutoML for computer vision: one form to a trained, evaluated model.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def main(
    server: str | None = typer.Option(
        None, "--server", help="Act through this server's API (env AUTOLEARN_SERVER)."
    ),
    token: str | None = typer.Option(
        None, "--token", help="API token for --server (env AUTOLEARN_TOKEN)."
    ),
) -> None:
    """Embedded by default: this machine's database, store and queue."""
    from autolearn.cli.backend import configure

    configure(server, token)


app.add_typer(task.app, name="task", help="Create, watch, stop and resume training tasks.")
app.add_typer(dataset.app, name="dataset", help="Import and inspect dataset versions.")
app.add_typer(model.app, name="model", help="Publish, list, download and delete model versions.")
app.add_typer(service.app, name="service", help="Deploy model versions as online services.")
app.add_typer(admin.app, name="admin", help="Users and API tokens (on the server machine).")
app.add_typer(billing.account_app, name="account", help="Balance, ledger and recharges.")
app.add_typer(billing.groups_app, name="resource-group", help="Prepaid resource groups.")
app.command("specs", help="The resource spec catalogue, prices and regions.")(billing.specs)
app.command("server", help="Serve the REST API and run the task queue.")(server.server)
app.command("worker", help="Run the task queue in this terminal.")(worker.worker)
app.command("models", help="List the model zoo.")(worker.models)
app.command("predict", help="Predict with a task's or a published model; draw boxes.")(
    predict.predict
)


if __name__ == "__main__":
    app()
