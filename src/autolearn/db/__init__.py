"""Database tables and sessions (SQLite by default, PostgreSQL by settings)."""

from autolearn.db.models import (
    ApiToken,
    Base,
    Dataset,
    DatasetVersion,
    Task,
    TaskEvent,
    TaskLog,
    User,
    WebSession,
    Worker,
)
from autolearn.db.session import default_engine, get_engine, session_scope

__all__ = [
    "ApiToken",
    "Base",
    "Dataset",
    "DatasetVersion",
    "Task",
    "TaskEvent",
    "TaskLog",
    "User",
    "WebSession",
    "Worker",
    "default_engine",
    "get_engine",
    "session_scope",
]
