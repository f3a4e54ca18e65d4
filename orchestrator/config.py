"""Settings from the environment (prefix ORCH_); the only module that reads it."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime configuration of the API, workers and sandbox."""

    model_config = SettingsConfigDict(env_prefix="ORCH_", env_file=".env", extra="ignore")

    database_url: str = Field(default="", description="SQLAlchemy URL; empty = SQLite under var/")
    redis_url: str = "redis://127.0.0.1:6379/0"
    data_dir: Path = Path("var/data")
    api_keys: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_upload_bytes: int = 512 * 1024 * 1024
    db_pool_size: int = 10
    db_max_overflow: int = 20

    # Runs
    model_base_url: str = "http://127.0.0.1:11434/v1"
    model_api_key: str = "sk-no-key"
    model_aliases: dict[str, str] = Field(default_factory=dict)
    model_timeout: float = 120.0
    model_context_tokens: int = 128_000
    model_max_attempts: int = 5
    model_retry_base: float = 1.0
    model_retry_max: float = 30.0
    max_run_steps: int = 25
    run_expiry_seconds: int = 600
    lease_seconds: float = 15.0
    heartbeat_seconds: float = 5.0
    sweep_interval: float = 2.0
    queued_stale_seconds: float = 30.0
    stream_ttl_seconds: int = 3600
    broker_visibility_timeout: int = 600
    task_time_limit: int = 540
    worker_concurrency: int = 4
    # Code interpreter sandbox (read by `orchestrator sandbox-worker` and the run hooks).
    sandbox_image: str = "orchestrator-sandbox:0.1"
    sandbox_state_dir: Path = Path("var/sandbox")
    sandbox_timeout: float = 30.0
    sandbox_lease_margin: float = 60.0
    sandbox_max_resends: int = 2
    sandbox_memory_mb: int = 512
    sandbox_cpus: float = 1.0
    sandbox_pids: int = 128
    sandbox_data_mb: int = 100
    sandbox_max_output: int = 64 * 1024
    sandbox_pool_size: int = 2
    sandbox_idle_ttl: float = 600.0
    sandbox_max_lifetime: float = 3600.0
    sandbox_concurrency: int = 4

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        """Accept a comma-separated string as well as a list."""
        if isinstance(value, str):
            return [k.strip() for k in value.split(",") if k.strip()]
        return value

    @property
    def effective_database_url(self) -> str:
        """The configured URL, or a SQLite file under ./var/ by default."""
        if self.database_url:
            return self.database_url
        return "sqlite:///" + str(Path("var/orchestrator.db").absolute())


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings, read once."""
    return Settings()
