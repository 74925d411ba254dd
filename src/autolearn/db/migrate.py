"""Bring a database to the newest schema with Alembic, on SQLite and PostgreSQL alike.

Every process that opens the database calls :func:`upgrade` once (``get_engine`` does):
the embedded default has no install step, so the schema must follow the code by
itself. Concurrent processes are serialised by a lock (a file lock next to the SQLite
file, an advisory lock on PostgreSQL), so two first starts never race to create a
table. A database made by a release before migrations existed (tables, no
``alembic_version``) is stamped at the baseline and upgraded from there.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, inspect, text

MIGRATIONS = Path(__file__).with_name("migrations")
BASELINE = "0001"
_PG_LOCK_KEY = 0x6175746F  # "auto": any constant shared by every autolearn process


def _config(connection: Connection | None = None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest revision in ``migrations/versions``."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(connection: Connection) -> str | None:
    from alembic.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Upgrade to ``revision`` (default: the newest), under the migration lock."""
    from alembic import command

    with _locked(engine), engine.begin() as conn:
        current = current_revision(conn)
        if current is None and inspect(conn).has_table("tasks"):
            command.stamp(_config(conn), BASELINE)  # made by create_all before migrations
            current = BASELINE
        if revision == "head" and current == head_revision():
            return
        command.upgrade(_config(conn), revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    with _locked(engine), engine.begin() as conn:
        command.downgrade(_config(conn), revision)


@contextmanager
def _locked(engine: Engine) -> Iterator[None]:
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if not database or database == ":memory:":
            yield
            return
        lock_path = Path(database).with_suffix(".migrate.lock")
        with lock_path.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
    elif engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
                conn.commit()
    else:
        yield
