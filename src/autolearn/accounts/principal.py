"""Who is asking: the caller every service call is scoped to.

Services take ``actor: Principal | None``. ``None`` is the embedded, single-user mode
(the local CLI acting on its own ``AUTOLEARN_HOME``), which sees everything; through
the API there is always a principal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["admin", "member"]
ROLES: tuple[Role, ...] = ("admin", "member")


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def may_access(actor: Principal | None, owner_id: int | None) -> bool:
    """An admin (or the embedded mode) reaches everything; a member only what they own."""
    return actor is None or actor.is_admin or owner_id == actor.user_id


def may_read_dataset(actor: Principal | None, owner_id: int | None) -> bool:
    """Datasets without an owner (built-in samples, imports by the local operator) are
    shared read-only with everyone; the rest follow :func:`may_access`."""
    return owner_id is None or may_access(actor, owner_id)


def owner_filter(actor: Principal | None) -> int | None:
    """The owner id a listing must be restricted to, or None for no restriction."""
    return None if actor is None or actor.is_admin else actor.user_id
