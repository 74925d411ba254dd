"""Money as integer cents: parsed from decimal strings or Decimals, never through a
float (0.1 + 0.2 is not 0.3 in binary, and a ledger must add up exactly)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

SECONDS_PER_HOUR = 3600


class MoneyError(ValueError):
    """An amount that is not a whole number of cents (or not a number at all)."""


def to_cents(value: str | int | Decimal) -> int:
    """``"12.34"`` → 1234. Floats are refused: their binary value is not the one typed.
    More than two decimals is refused rather than rounded, so nobody loses a fraction."""
    if isinstance(value, float | bool):
        raise MoneyError(f"money must be a decimal string or an integer, not {value!r}")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise MoneyError(f"{value!r} is not an amount of money (e.g. 12.50)") from None
    if not amount.is_finite():
        raise MoneyError(f"{value!r} is not an amount of money (e.g. 12.50)")
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise MoneyError(f"{value!r} has more than two decimals")
    return int(cents)


def fmt(cents: int) -> str:
    """1234 → ``"12.34"``; -5 → ``"-0.05"``."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole}.{part:02d}"


def ceil_div(a: int, b: int) -> int:
    """⌈a / b⌉ for non-negative integers, exactly."""
    return -(-a // b)


def cost_cents(price_cents_per_hour: int, count: int, seconds: int) -> int:
    """What ``count`` nodes at that hourly price cost for ``seconds``, rounded up to the
    cent: per-second billing, in integers from end to end."""
    return ceil_div(price_cents_per_hour * count * seconds, SECONDS_PER_HOUR)
