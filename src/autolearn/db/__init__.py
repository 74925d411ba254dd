"""Database tables and sessions (SQLite by default, PostgreSQL by settings)."""

from autolearn.db.models import Base, Dataset, DatasetVersion, Task, TaskEvent, TaskLog, Worker
from autolearn.db.session import default_engine, get_engine, session_scope

__all__ = [
    "Base",
    "Dataset",
    "DatasetVersion",
    "Task",
    "TaskEvent",
    "TaskLog",
    "Worker",
    "default_engine",
    "get_engine",
    "session_scope",
]
