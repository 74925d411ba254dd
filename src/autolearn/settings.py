"""Process-wide settings with embedded defaults.

With no configuration at all everything lives under ``AUTOLEARN_HOME``: the SQLite
database, the local object store and the worker logs. Clusters switch to
PostgreSQL / S3 / Ray by setting these values, never by code changes.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "autolearn-development-secret-do-not-use-in-production"


class Settings(BaseSettings):
    """All knobs, read from ``AUTOLEARN_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="AUTOLEARN_", extra="ignore")

    home: Path = Field(
        default_factory=lambda: Path.home() / ".autolearn",
        description="Root folder for the embedded database, object store and logs.",
    )
    database_url: str = Field(
        default="", description="SQLAlchemy URL; empty means SQLite under home."
    )
    storage_url: str = Field(
        default="", description="Object store root URI; empty means file://<home>/store."
    )
    executor: Literal["local", "ray"] = Field(
        default="local",
        description="Where task workers run: local subprocesses of the queue worker, or "
        "Ray actors on a cluster (then the database and storage must be shared: "
        "PostgreSQL and s3://).",
    )
    ray_address: str = Field(
        default="auto",
        description="Ray cluster to submit workers to (executor=ray): 'auto' finds the local "
        "node's cluster, or HOST:PORT of the head's GCS.",
    )
    ray_namespace: str = Field(
        default="autolearn",
        min_length=1,
        max_length=64,
        description="Ray namespace of the worker actors; queue workers of one deployment "
        "share it to find each other's running tasks.",
    )
    ray_match_gpu_model: bool = Field(
        default=True,
        description="Ask Ray for the resource spec's GPU model (gpu-t4 → T4); off: any GPU.",
    )
    local_slots: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Tasks one queue worker runs at the same time (with executor=ray: tasks it "
        "keeps submitted; Ray holds them until the cluster has their resources).",
    )
    progress_interval_s: float = Field(
        default=2.0, ge=0, description="Minimum seconds between step progress events."
    )
    worker_idle_exit_s: float = Field(
        default=20.0,
        ge=0,
        description="An auto-started queue worker exits after the queue was empty this long.",
    )
    stop_grace_s: float = Field(
        default=20.0, ge=0, description="Seconds a stopping worker gets before SIGKILL."
    )
    billing: bool = Field(
        default=False,
        description="Charge pay-as-you-go tasks to their owner's account (freeze at submission, "
        "settle at the end; docs/billing.md). Off: every task is NOT_BILLING (a single-user "
        "install); prepaid resource groups still bound capacity.",
    )
    resources_file: Path | None = Field(
        default=None,
        description="YAML resource catalogue (specs, prices, regions); unset: the one shipped "
        "in autolearn/billing/resources.yaml.",
    )
    num_workers: int = Field(
        default=-1, ge=-1, le=64, description="DataLoader workers; -1 picks by CPU count."
    )

    s3_endpoint_url: str = Field(
        default="", description="S3 endpoint for s3:// URIs (any S3-compatible server)."
    )
    s3_access_key_id: str = Field(default="", description="S3 access key (empty: boto3's chain).")
    s3_secret_access_key: str = Field(default="", description="S3 secret key.")
    s3_region: str = Field(default="us-east-1", description="S3 region name.")
    import_max_files: int = Field(
        default=200_000, ge=1, description="Most files one dataset import may hold."
    )
    import_max_bytes: int = Field(
        default=20 * 1024**3, ge=1, description="Most bytes one dataset import may hold."
    )
    import_max_pixels: int = Field(
        default=89_478_485,
        ge=1,
        description="Largest image (width × height) accepted; bigger is a decompression bomb.",
    )

    import_health_embeddings: bool = Field(
        default=True,
        description="At import, compare classes with the pretrained backbone (a few seconds).",
    )

    db_pool_size: int = Field(
        default=16,
        ge=1,
        le=256,
        description="Database connections kept per process; also the API's request threads.",
    )
    environment: Literal["development", "production"] = Field(
        default="development",
        description="production refuses the development secret and sends cookies HTTPS-only.",
    )
    secret_key: SecretStr = Field(
        default=SecretStr(DEV_SECRET),
        description="Key for token and session hashes; at least 32 random characters.",
    )
    session_ttl_s: int = Field(
        default=12 * 3600, ge=60, description="Seconds a console login lasts."
    )
    upload_max_bytes: int = Field(
        default=2 * 1024**3, ge=1, description="Largest dataset upload the API accepts (bytes)."
    )
    upload_max_files: int = Field(
        default=100_000, ge=1, description="Most files one uploaded archive may hold."
    )

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.environment == "production":
            key = self.secret_key.get_secret_value()
            if key == DEV_SECRET or len(key) < 32:
                raise ValueError(
                    "AUTOLEARN_SECRET_KEY must be set to at least 32 random characters when "
                    "AUTOLEARN_ENVIRONMENT=production (the development default is public); "
                    "make one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
                )
        return self

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        self.home = self.home.expanduser().resolve()
        if not self.database_url:
            self.database_url = f"sqlite:///{self.home / 'autolearn.db'}"
        if not self.storage_url:
            self.storage_url = (self.home / "store").as_uri()
        return self

    @property
    def logs_dir(self) -> Path:
        """Where worker processes write their raw stdout/stderr."""
        return self.home / "logs"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process (cached; tests call ``get_settings.cache_clear()``)."""
    settings = Settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    return settings
