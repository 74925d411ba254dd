"""``autolearn account``, ``autolearn resource-group`` and ``autolearn specs``: balance and
ledger, recharges (admins), prepaid resource groups and the resource catalogue.

Embedded (this machine's database, as the local operator: its own account is
``@local``) or through a server (``--server``), as every command: the same dicts either
way, so the same tables and ``--json``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import typer

from autolearn.cli.output import console, err_console, print_json, table

JSON = typer.Option(False, "--json", help="Print JSON for scripts.")
T = TypeVar("T")

account_app = typer.Typer(no_args_is_help=True)
groups_app = typer.Typer(no_args_is_help=True)


class _Embedded:
    """The billing service on this machine, as the local operator."""

    def get_account(self, user: str | None) -> dict[str, Any]:
        from autolearn.billing.service import get_account

        return get_account(None, user)

    def ledger(self, user: str | None, limit: int, offset: int) -> dict[str, Any]:
        from autolearn.billing.service import ledger_page

        return ledger_page(None, user, limit, offset)

    def recharge(self, user: str, amount: str, note: str) -> dict[str, Any]:
        from autolearn.billing.service import recharge

        return recharge(None, user, amount, note)

    def refund(self, task_id: int, amount: str | None, note: str) -> dict[str, Any]:
        from autolearn.billing.service import refund

        return refund(None, task_id, amount, note)

    def list_resource_groups(self) -> list[dict[str, Any]]:
        from autolearn.billing.service import list_groups

        return list_groups(None)

    def create_resource_group(self, **fields: Any) -> dict[str, Any]:
        from autolearn.billing.service import create_group

        return create_group(None, **fields)

    def expire_resource_group(self, name: str) -> dict[str, Any]:
        from autolearn.billing.service import expire_group

        return expire_group(None, name)

    def specs(self) -> dict[str, Any]:
        from autolearn.billing.service import specs

        return specs()


class _Remote:
    """The same calls through the SDK."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def get_account(self, user: str | None) -> dict[str, Any]:
        return dict(self.client.get_account(user))

    def ledger(self, user: str | None, limit: int, offset: int) -> dict[str, Any]:
        return dict(self.client.ledger(user, limit, offset))

    def recharge(self, user: str, amount: str, note: str) -> dict[str, Any]:
        return dict(self.client.recharge(user, amount, note))

    def refund(self, task_id: int, amount: str | None, note: str) -> dict[str, Any]:
        return dict(self.client.refund(task_id, amount, note))

    def list_resource_groups(self) -> list[dict[str, Any]]:
        return list(self.client.list_resource_groups())

    def create_resource_group(self, **fields: Any) -> dict[str, Any]:
        return dict(self.client.create_resource_group(**fields))

    def expire_resource_group(self, name: str) -> dict[str, Any]:
        return dict(self.client.expire_resource_group(name))

    def specs(self) -> dict[str, Any]:
        return dict(self.client.specs())


def _backend() -> _Embedded | _Remote:
    """Through ``cli/backend.py``'s choice: a server's SDK client, or this machine."""
    from autolearn.cli.backend import current

    chosen = current()
    return _Remote(getattr(chosen, "client")) if chosen.remote else _Embedded()  # noqa: B009


def _run(fn: Callable[[], T]) -> T:
    """``run`` of cli/output, plus the billing errors (they are user errors too)."""
    from autolearn.billing.catalog import CatalogError
    from autolearn.billing.errors import BillingError
    from autolearn.cli.output import run

    try:
        return run(fn)
    except (BillingError, CatalogError) as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None


@account_app.command("show")
def show(
    user: str | None = typer.Option(None, help="Whose (admins; '@local': the operator)."),
    json_out: bool = JSON,
) -> None:
    """Balance, frozen and available money."""
    view = _run(lambda: _backend().get_account(user))
    if json_out:
        print_json(view)
        return
    rows = [[k, view[k]] for k in ("balance", "frozen", "available")]
    rows.append(["billing", "on" if view.get("billing") else "off (every task NOT_BILLING)"])
    console.print(table(f"account {view.get('username') or view['holder']}", ["", ""], rows))


@account_app.command("ledger")
def ledger(
    user: str | None = typer.Option(None, help="Whose (admins)."),
    limit: int = typer.Option(50, min=1, max=500, help="Entries per page."),
    offset: int = typer.Option(0, min=0, help="Entries to skip."),
    json_out: bool = JSON,
) -> None:
    """The account's ledger, newest first."""
    page = _run(lambda: _backend().ledger(user, limit, offset))
    if json_out:
        print_json(page)
        return
    rows = [
        [
            e["id"],
            (e["ts"] or "")[:19],
            e["kind"],
            e["amount"],
            e["frozen"],
            e["balance_after"],
            e["task_id"],
            e["note"],
        ]
        for e in page["items"]
    ]
    columns = ["id", "when", "kind", "amount", "frozen", "balance", "task", "note"]
    console.print(table(f"ledger ({page['total']} entries)", columns, rows))


@account_app.command("recharge")
def recharge(
    user: str = typer.Argument(..., help="Username, or '@local' (the operator's account)."),
    amount: str = typer.Argument(..., help='Amount, e.g. "100.00".'),
    note: str = typer.Option("", help="Why (kept in the ledger)."),
    json_out: bool = JSON,
) -> None:
    """(Admins) add money to an account."""
    done = _run(lambda: _backend().recharge(user, amount, note))
    if json_out:
        print_json(done)
        return
    account = done["account"]
    console.print(
        f"recharged {done['entry']['amount']}: balance {account['balance']}, "
        f"available {account['available']}",
        highlight=False,
    )


@account_app.command("refund")
def refund(
    task_id: int = typer.Argument(..., help="The charged task."),
    amount: str | None = typer.Option(None, help='Amount, e.g. "12.50" (default: all left).'),
    note: str = typer.Option("", help="Why (kept in the ledger)."),
    json_out: bool = JSON,
) -> None:
    """(Admins) give back part or all of what a task was charged."""
    done = _run(lambda: _backend().refund(task_id, amount, note))
    if json_out:
        print_json(done)
        return
    console.print(
        f"refunded {done['entry']['amount']} of task {task_id} "
        f"(charged {done['charged']}, refunded {done['refunded']} in all)",
        highlight=False,
    )


@groups_app.command("list")
def list_groups(json_out: bool = JSON) -> None:
    """Prepaid resource groups you may use."""
    rows_in = _run(lambda: _backend().list_resource_groups())
    if json_out:
        print_json(rows_in)
        return
    rows = [
        [
            g["name"],
            g["owner"] or "(shared)",
            g["spec"],
            f"{g['nodes_in_use']}/{g['nodes']}",
            g["queued"],
            g["region"],
            (g["expires_at"] or "")[:19],
            g["status"],
        ]
        for g in rows_in
    ]
    columns = ["name", "owner", "spec", "in use", "queued", "region", "expires", "status"]
    console.print(table("resource groups", columns, rows))


@groups_app.command("create")
def create_group(
    name: str = typer.Argument(..., help="Group name (tasks name it in resources)."),
    spec: str = typer.Option(..., "--spec", help="Resource spec of every node, e.g. gpu-t4."),
    nodes: int = typer.Option(1, min=1, max=1024, help="Number of nodes."),
    hours: int = typer.Option(24 * 30, min=1, help="Period bought, from now (hours)."),
    owner: str | None = typer.Option(None, help="Owner's username; none: shared by all."),
    region: str = typer.Option("local", help="Region whose workers run its tasks."),
    charge: bool = typer.Option(True, "--charge/--free", help="Charge the owner the price."),
    json_out: bool = JSON,
) -> None:
    """(Admins) buy a prepaid resource group."""
    fields = {"name": name, "spec": spec, "nodes": nodes, "hours": hours, "owner": owner}
    fields.update(region=region, charge=charge)
    group = _run(lambda: _backend().create_resource_group(**fields))
    if json_out:
        print_json(group)
        return
    console.print(
        f"resource group {group['name']}: {group['nodes']} × {group['spec']} until "
        f"{group['expires_at'][:19]}, price {group['price']}",
        highlight=False,
    )


@groups_app.command("expire")
def expire_group(name: str = typer.Argument(...), json_out: bool = JSON) -> None:
    """(Admins) end a group now: it takes no new tasks."""
    group = _run(lambda: _backend().expire_resource_group(name))
    if json_out:
        print_json(group)
        return
    console.print(f"resource group {group['name']} is {group['status']}", highlight=False)


def specs(json_out: bool = JSON) -> None:
    """The resource spec catalogue (prices per hour) and the regions."""
    catalogue = _run(lambda: _backend().specs())
    if json_out:
        print_json(catalogue)
        return
    rows = [
        [
            s["name"],
            s["cpus"],
            s["memory_gb"],
            f"{s['gpus']} × {s['gpu_model']}" if s["gpus"] else "",
            s["price_per_hour"],
            s["description"],
        ]
        for s in catalogue["specs"]
    ]
    columns = ["spec", "cpus", "memory GiB", "gpus", f"{catalogue['currency']}/h", ""]
    console.print(table("resource specs", columns, rows))
    regions = [[r["name"], ", ".join(r["specs"]), r["description"]] for r in catalogue["regions"]]
    console.print(table("regions", ["region", "specs", ""], regions))
    console.print(
        f"pay-as-you-go freezes {catalogue['freeze_hours']} h of a task's price at submission; "
        f"billing is {'on' if catalogue['billing'] else 'off'}",
        highlight=False,
    )


def print_estimate(spec: Any, quiet: bool = False) -> dict[str, Any] | None:
    """``task create``'s line before queuing: cost, ETA and the freeze. A form the planner
    refuses prints nothing here (creating it reports the error)."""
    from autolearn.cli.backend import current
    from autolearn.cli.output import fmt_seconds, user_errors

    chosen = current()
    try:
        if chosen.remote:
            found = dict(getattr(chosen, "client").estimate_task(spec))  # noqa: B009
        else:
            from autolearn.billing.service import estimate_task

            found = estimate_task(spec, None)
    except user_errors():
        return None
    if not quiet:
        stop = " (stops at max duration)" if found["stops_at_max_duration"] else ""
        freeze = f", freezes {found['freeze']} now" if found["billing"] else ""
        err_console.print(
            f"estimate: {found['spec']} × {found['count']} at {found['price_per_hour']}/h, "
            f"ETA {fmt_seconds(found['eta_s'])}{stop} ({found['throughput']} "
            f"{found['images_per_s']} images/s), cost ≈ {found['cost']} "
            f"(at most {found['max_cost']}){freeze}",
            highlight=False,
        )
    return found
