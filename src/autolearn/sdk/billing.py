"""The SDK's methods for ``/api/v1/billing`` (accounts, ledger, recharges, resource
groups, the spec catalogue, estimates), mixed into ``Client``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from autolearn.tasks.spec import TaskSpec


class BillingMixin:
    """One method per billing route; ``self`` is a ``Client``."""

    if TYPE_CHECKING:

        def _call(self, method: str, path: str, **kwargs: Any) -> Any: ...

    def get_account(self, user: str | None = None) -> dict[str, Any]:
        """My account (admins: ``user``'s): ``balance``, ``frozen``, ``available``."""
        params = {"user": user} if user else {}
        return dict(self._call("GET", "/api/v1/billing/account", params=params))

    def ledger(self, user: str | None = None, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        """``{"items", "total", "limit", "offset"}``, newest first."""
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if user:
            params["user"] = user
        return dict(self._call("GET", "/api/v1/billing/ledger", params=params))

    def recharge(self, user: str, amount: str, note: str = "") -> dict[str, Any]:
        """(Admins) add ``amount`` (a decimal string, "100.00") to ``user``'s account."""
        body = {"user": user, "amount": amount, "note": note}
        return dict(self._call("POST", "/api/v1/billing/recharge", json=body))

    def refund(self, task_id: int, amount: str | None = None, note: str = "") -> dict[str, Any]:
        """(Admins) give back ``amount`` (default: all not yet refunded) of a task's charge."""
        body = {"task_id": task_id, "amount": amount, "note": note}
        return dict(self._call("POST", "/api/v1/billing/refunds", json=body))

    def list_resource_groups(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/api/v1/billing/resource-groups"))

    def create_resource_group(
        self,
        name: str,
        spec: str,
        nodes: int,
        hours: int,
        owner: str | None = None,
        region: str = "local",
        charge: bool = True,
    ) -> dict[str, Any]:
        """(Admins) buy a prepaid group of ``nodes`` × ``spec`` for ``hours``."""
        body = {
            "name": name,
            "spec": spec,
            "nodes": nodes,
            "hours": hours,
            "owner": owner,
            "region": region,
            "charge": charge,
        }
        return dict(self._call("POST", "/api/v1/billing/resource-groups", json=body))

    def expire_resource_group(self, name: str) -> dict[str, Any]:
        return dict(self._call("POST", f"/api/v1/billing/resource-groups/{name}/expire"))

    def specs(self) -> dict[str, Any]:
        """The resource catalogue: specs with prices, regions, freeze hours."""
        return dict(self._call("GET", "/api/v1/billing/specs"))

    def estimate_task(self, spec: TaskSpec | dict[str, Any]) -> dict[str, Any]:
        """Cost and ETA of a task before launch."""
        body = spec.model_dump(mode="json") if isinstance(spec, TaskSpec) else spec
        return dict(self._call("POST", "/api/v1/billing/estimate", json=body))
