"""Billing fixtures (defined in tests/billing_support.py, with the helpers the tests
import from there)."""

from billing_support import billing_on, clock, submit, users

__all__ = ["billing_on", "clock", "submit", "users"]
