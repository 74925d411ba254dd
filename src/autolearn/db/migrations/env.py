"""Alembic environment: runs on the connection that ``autolearn.db.migrate`` hands over
(``config.attributes["connection"]``), so the app and the ``alembic`` CLI share one path."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from autolearn.db.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite cannot ALTER constraints: batch mode copies the table
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:  # the plain `alembic` CLI with sqlalchemy.url in its ini or -x url=...
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    with create_engine(str(url)).connect() as conn:
        _run(conn)
