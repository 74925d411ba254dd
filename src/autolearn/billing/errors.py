"""Billing errors: a leaf module, so every layer (tasks, scheduler, api) can catch them."""

from __future__ import annotations

from autolearn.billing.money import fmt


class BillingError(ValueError):
    """A billing request that cannot be done as asked (the message says why)."""


class BillingNotFoundError(BillingError, LookupError):
    """No such account holder or resource group (or not one the caller may see)."""


class InsufficientBalanceError(BillingError):
    """The account's available balance cannot cover an amount; says how much is missing."""

    def __init__(self, needed_cents: int, available_cents: int, what: str) -> None:
        self.needed_cents, self.available_cents = needed_cents, available_cents
        self.missing_cents = max(needed_cents - available_cents, 0)
        super().__init__(
            f"insufficient balance: {what} needs {fmt(needed_cents)}, the account has "
            f"{fmt(available_cents)} available; {fmt(self.missing_cents)} missing "
            f"(an admin recharges with `autolearn account recharge`)"
        )
