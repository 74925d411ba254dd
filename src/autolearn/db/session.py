"""Engine and session handling; SQLite gets WAL and a busy timeout for many processes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    """One engine per URL per process, migrated to the newest schema on first use.

    The pool keeps as many connections as the API has request threads
    (``db_pool_size``): connections beyond the pool are closed when returned, and
    reopening one per request (with its PRAGMAs) showed up as latency spikes under load.
    """
    from autolearn.settings import get_settings

    size = get_settings().db_pool_size
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, pool_size=size, max_overflow=size)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")  # WAL: safe against process crashes
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        with engine.connect() as conn:  # WAL is a property of the file: set it once
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=size, max_overflow=size)
    from autolearn.db.migrate import upgrade

    upgrade(engine)
    return engine


def default_engine() -> Engine:
    from autolearn.settings import get_settings

    return get_engine(get_settings().database_url)


@lru_cache(maxsize=8)
def _factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    session = _factory(engine or default_engine())()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
