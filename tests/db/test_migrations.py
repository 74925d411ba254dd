"""Alembic migrations: a new database gets exactly the models' schema, a database from
before migrations is stamped and upgraded keeping its rows, and every step downgrades."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from autolearn.db import migrate
from autolearn.db.models import Base
from autolearn.db.session import get_engine


def _schema_diff(engine: sa.Engine) -> list[object]:
    with engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn), Base.metadata))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    return str(request.getfixturevalue("postgres_url"))


def test_a_new_database_matches_the_models(fresh_url: str) -> None:
    engine = get_engine(fresh_url)
    assert _schema_diff(engine) == []
    with engine.connect() as conn:
        assert migrate.current_revision(conn) == migrate.head_revision()
    engine.dispose()


def _pre_migration_db(url: str) -> sa.Engine:
    """The schema as releases before migrations made it (``create_all`` of 0001)."""
    engine = sa.create_engine(url)
    migrate.upgrade(engine, migrate.BASELINE)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE alembic_version"))
        conn.execute(
            sa.text(
                "INSERT INTO datasets (id, name, description, scenario, created_at) "
                "VALUES (1, 'old', '', 'classification', '2026-01-01 00:00:00')"
            )
        )
    return engine


def test_a_database_from_before_migrations_is_upgraded_keeping_its_rows(fresh_url: str) -> None:
    url = fresh_url
    _pre_migration_db(url).dispose()
    engine = get_engine(url)
    assert _schema_diff(engine) == []
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT name, owner_id FROM datasets")).all()
    assert [tuple(r) for r in rows] == [("old", None)]
    engine.dispose()


def test_every_migration_downgrades_and_upgrades_again(fresh_url: str) -> None:
    engine = get_engine(fresh_url)
    migrate.downgrade(engine, "base")
    assert sa.inspect(engine).get_table_names() == ["alembic_version"]
    migrate.upgrade(engine)
    assert _schema_diff(engine) == []
    engine.dispose()


def test_concurrent_first_starts_do_not_race(tmp_path: Path) -> None:
    """Four processes open one new database at once: one migrates, the rest wait."""
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'race.db'}"
    code = (
        "import sys; from autolearn.db.session import get_engine; get_engine(sys.argv[1]); "
        "print('ok')"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, url], stdout=subprocess.PIPE)
        for _ in range(4)
    ]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4 and all(o.strip() == b"ok" for o in outs)
    assert _schema_diff(get_engine(url)) == []
