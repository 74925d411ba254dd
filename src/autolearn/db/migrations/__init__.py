"""Alembic migrations (``versions/``) for SQLite and PostgreSQL; run by ``autolearn.db.migrate``."""
