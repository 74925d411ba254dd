"""Users, roles, API tokens and console sessions; who may see what (``Principal``)."""

from autolearn.accounts.principal import Principal

__all__ = ["Principal"]
