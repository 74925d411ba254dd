"""SQLAlchemy tables. The tasks table is also the queue (see scheduler/queue.py)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes for timezone columns; they were written in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 with the UTC offset, the same on SQLite and PostgreSQL."""
    return as_utc(value).isoformat() if value is not None else None


# Named constraints, so that migrations can drop and alter them on every database.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class User(Base):
    """A person or a service account. ``role`` is ``admin`` (sees everything) or
    ``member`` (sees what they own)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    role: Mapped[str] = mapped_column(String(16), default="member")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiToken(Base):
    """A bearer token; only its keyed hash is stored, the token is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(64), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class WebSession(Base):
    """A console login: the cookie holds a random id (stored hashed) and every unsafe
    request must echo ``csrf_token`` in a header."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Dataset(Base):
    """A named dataset; its content lives in immutable versions."""

    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(128), unique=True, index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    scenario: Mapped[str] = mapped_column(String(32), default="classification")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    versions: Mapped[list[DatasetVersion]] = relationship(
        back_populates="dataset", order_by="DatasetVersion.number"
    )


class DatasetVersion(Base):
    """One immutable, content-addressed snapshot of a dataset."""

    __tablename__ = "dataset_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    manifest_uri: Mapped[str] = mapped_column(Text)
    classes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    class_counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    num_images: Mapped[int] = mapped_column(Integer, default=0)
    has_fixed_val: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(Text, default="")
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("dataset_versions.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    num_boxes: Mapped[int] = mapped_column(Integer, default=0)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # vs the parent

    dataset: Mapped[Dataset] = relationship(back_populates="versions")

    @property
    def ref(self) -> str:
        """Human reference ``name:vN`` used by the CLI and task specs."""
        return f"{self.dataset.name}:v{self.number}"


class Task(Base):
    """A training task: the form, its resolved plan, its live state and results."""

    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(Text, default="")
    scenario: Mapped[str] = mapped_column(String(32))
    region: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    billing_status: Mapped[str] = mapped_column(String(16), default="NOT_BILLING")
    stop_reason: Mapped[str | None] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text, default="")
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    plan: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    advice: Mapped[list[Any]] = mapped_column(JSON, default=list)
    dataset_version_id: Mapped[int | None] = mapped_column(ForeignKey("dataset_versions.id"))
    output_uri: Mapped[str] = mapped_column(Text)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    epoch: Mapped[int] = mapped_column(Integer, default=0)
    total_epochs: Mapped[int] = mapped_column(Integer, default=0)
    step: Mapped[int] = mapped_column(Integer, default=0)
    total_steps: Mapped[int] = mapped_column(Integer, default=0)
    eta_s: Mapped[float | None] = mapped_column(Float)
    resume: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    stop_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    dataset_version: Mapped[DatasetVersion | None] = relationship()


class TaskEvent(Base):
    """Progress written by the worker as it happens (steps, epochs, status changes)."""

    __tablename__ = "task_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    kind: Mapped[str] = mapped_column(String(16))
    epoch: Mapped[int | None] = mapped_column(Integer)
    step: Mapped[int | None] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class TaskLog(Base):
    """Log lines of a task, readable through ``autolearn task logs``."""

    __tablename__ = "task_logs"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    level: Mapped[str] = mapped_column(String(8), default="INFO")
    message: Mapped[str] = mapped_column(Text)


class Worker(Base):
    """A running queue worker (supervisor); the heartbeat tells the CLI one is alive."""

    __tablename__ = "workers"

    id: Mapped[int] = mapped_column(primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    region: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    slots: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class ModelVersion(Base):
    """A published model: one immutable artifact (``model.pt`` or an optimised ``.onnx``)
    copied out of its task's folder into ``models/<name>/v<N>/``, so that deleting or
    retraining the task never changes what a deployed service runs. ``status`` is
    ``publishing`` until every file is written, then ``ready``: a half-copied version is
    never listed as usable."""

    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_model_versions_name_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(128), index=True)
    version: Mapped[int] = mapped_column(Integer)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"), index=True)
    scenario: Mapped[str] = mapped_column(String(32))
    profile: Mapped[str] = mapped_column(String(32), default="pytorch")  # or cpu-int8 …
    format: Mapped[str] = mapped_column(String(16), default="pytorch")  # pytorch | onnx
    status: Mapped[str] = mapped_column(String(16), default="publishing")
    artifact_uri: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    card: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Service(Base):
    """An online prediction endpoint serving one published model version from the API
    processes. ``config`` holds the micro-batching and queue limits."""

    __tablename__ = "services"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(128), index=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="RUNNING")
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    model_version: Mapped[ModelVersion] = relationship()


class Account(Base):
    """A billing account: one per user (``holder`` ``user:<id>``), and ``local`` for the
    embedded operator. Money in integer cents. ``balance_cents`` is what the ledger's
    ``amount_cents`` add up to; ``frozen_cents`` what its ``frozen_cents`` add up to;
    available = balance − frozen, never below zero (every freeze is a conditional
    UPDATE)."""

    __tablename__ = "billing_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    holder: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    balance_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    frozen_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LedgerEntry(Base):
    """One movement on an account, never updated or deleted: ``kind`` recharge, freeze,
    unfreeze, charge or refund; ``amount_cents`` changes the balance, ``frozen_cents``
    the frozen part; ``*_after`` are the account's values right after it."""

    __tablename__ = "billing_ledger"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("billing_accounts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    amount_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    frozen_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    balance_after: Mapped[int] = mapped_column(BigInteger, default=0)
    frozen_after: Mapped[int] = mapped_column(BigInteger, default=0)
    task_id: Mapped[int | None] = mapped_column(Integer, index=True)  # kept after a delete
    actor_id: Mapped[int | None] = mapped_column(Integer)  # who recharged (admins)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ResourceGroup(Base):
    """A prepaid resource group: ``nodes`` nodes of one spec in one region, from
    ``starts_at`` to ``expires_at``. Tasks naming it run inside that capacity."""

    __tablename__ = "resource_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    spec: Mapped[str] = mapped_column(String(64))
    nodes: Mapped[int] = mapped_column(Integer)
    region: Mapped[str] = mapped_column(String(64), default="local")
    price_cents: Mapped[int] = mapped_column(BigInteger, default=0)  # paid for the period
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TaskCharge(Base):
    """How one task is charged: its price (fixed at submission), what is frozen for it,
    what it has been charged, and the run time not yet settled. ``task_id`` has no
    foreign key: the record outlives a deleted task, as the ledger does."""

    __tablename__ = "task_charges"

    task_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("billing_accounts.id"), index=True)
    charge_type: Mapped[str] = mapped_column(String(24))
    spec: Mapped[str] = mapped_column(String(64))
    nodes: Mapped[int] = mapped_column(Integer, default=1)
    price_cents: Mapped[int] = mapped_column(BigInteger, default=0)  # per node and hour
    resource_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("resource_groups.id"), index=True
    )
    frozen_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    charged_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    billed_ms: Mapped[int] = mapped_column(BigInteger, default=0)  # settled run time
    pending_ms: Mapped[int] = mapped_column(BigInteger, default=0)  # run time not yet settled
    run_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    open: Mapped[bool] = mapped_column(Boolean, default=False)  # a freeze awaits settlement
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
