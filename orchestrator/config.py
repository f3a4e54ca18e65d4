"""Settings from the environment (prefix ORCH_); the only module that reads it."""

from __future__ import annotations

import ipaddress
import socket
from functools import lru_cache
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit, urlunsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from orchestrator.redis_url import parse_sentinel


class Settings(BaseSettings):
    """Runtime configuration of the API, workers and sandbox."""

    # Errors name the setting and what is wrong, never its value (a URL or key may hold a secret).
    model_config = SettingsConfigDict(env_prefix="ORCH_", env_file=".env", extra="ignore",
                                      hide_input_in_errors=True)

    database_url: str = Field(default="", description="SQLAlchemy URL; empty = SQLite under var/")
    # Redis (event streams, locks, and the broker unless broker_url is set): one server
    # (redis://host:6379/0), or the master that Redis Sentinel watches, in Celery's form
    # sentinel://host:26379;sentinel://host2:26379/0 (the master's user and password go in the
    # URL, as with redis://).
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_sentinel_master: str = "mymaster"  # the name the sentinels monitor the master by
    redis_sentinel_password: str = ""  # the sentinels' own password (their requirepass), if any
    # The Celery broker: empty = redis_url; `amqp://user:pass@host:5672/vhost` = RabbitMQ
    # (durable quorum queues, publisher confirms; Redis still holds event streams, locks and
    # metrics). See orchestrator/broker.py and docs/operations.md (the Celery broker).
    broker_url: str = ""
    data_dir: Path = Path("var/data")
    # File contents (orchestrator/storage): empty = the folder blobs/ under data_dir (one host);
    # `s3://bucket/prefix` = an S3-compatible bucket every API, run and sandbox worker reaches.
    storage_url: str = ""
    storage_endpoint_url: str = ""  # empty: AWS S3; else MinIO, R2, GCS interop, moto…
    storage_region: str = ""  # empty: boto3's own (AWS_REGION, ~/.aws/config)
    storage_access_key_id: str = ""  # empty (with the secret): boto3's credential chain
    storage_secret_access_key: SecretStr = SecretStr("")
    storage_part_size: int = Field(default=8 * 1024 * 1024, ge=5 * 1024 * 1024)  # per upload
    storage_path_style: bool = False  # bucket in the path, not the host name (MinIO, moto)
    api_keys: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_upload_bytes: int = 512 * 1024 * 1024
    # Files: the shortest `expires_after[seconds]` accepted (OpenAI's bound), and how often the
    # maintenance worker deletes files past their expires_at.
    file_min_expiry_seconds: int = Field(default=3600, ge=1)
    file_sweep_interval: float = Field(default=60.0, gt=0)
    db_pool_size: int = 10
    db_max_overflow: int = 20
    # Idempotency-Key: how long a key's first response is replayed, and how long a claim of a
    # request that never finished (its API process died) blocks the key before it is retaken.
    idempotency_ttl_seconds: int = 24 * 3600
    idempotency_lock_seconds: int = 300

    # Runs
    model_base_url: str = "http://127.0.0.1:11434/v1"
    model_api_key: str = "sk-no-key"
    model_aliases: dict[str, str] = Field(default_factory=dict)
    model_timeout: float = 120.0
    model_context_tokens: int = 128_000
    model_max_attempts: int = 5
    # A provider's rate limit is a fact of life, not a fault: 429s get a longer budget
    # (about 13 minutes of capped backoff by default) before a run fails for them.
    model_rate_limit_attempts: int = 30
    model_retry_base: float = 1.0
    model_retry_max: float = 30.0
    max_run_steps: int = 25
    run_expiry_seconds: int = 600
    lease_seconds: float = 15.0
    heartbeat_seconds: float = 5.0
    sweep_interval: float = 2.0
    queued_stale_seconds: float = 30.0
    stream_ttl_seconds: int = 3600
    # How long a plain (not background) POST /v1/responses waits for its answer before it
    # answers with the response as it is then (still in progress; retrieve it later).
    response_wait_seconds: float = 600.0
    broker_visibility_timeout: int = 600  # Redis broker only (RabbitMQ redelivers at once)
    task_time_limit: int = 540
    # Run workers wait on the model almost all the time: thread pools keep that many model
    # calls in flight per `orchestrator worker` (see workers/celery_app.py for the measurements).
    worker_pool: str = "threads"
    worker_concurrency: int = 200
    # Threads-pool processes sharing worker_concurrency: one process's Python runs under one
    # GIL (about 0.75 of a core at most, measured), so 0 = one per CPU.
    worker_processes: int = Field(default=0, ge=0)
    # Calls in flight per `orchestrator worker` (split over its processes, at least one each);
    # 0 = as many as the pool allows.
    model_max_concurrency: int = 0
    # Celery task events cost about 1 ms of worker CPU per task (half of Celery's own share of
    # a step): off unless asked for. `orchestrator flower` switches them on while it watches.
    worker_task_events: bool = False

    # Run inspector (/inspector)
    inspector_session_seconds: int = 12 * 3600

    # Webhooks
    webhook_allow_private: bool = False  # loopback / private targets (tests, private setups)
    # CIDRs of an operator's own networks that webhooks may reach whatever their address class
    # (e.g. an internal range outside RFC 1918); cloud metadata addresses stay refused.
    webhook_allow_networks: Annotated[list[str], NoDecode] = Field(default_factory=list)
    webhook_timeout: float = 10.0  # hard cap per delivery attempt, seconds
    webhook_max_response_bytes: int = 64 * 1024  # read at most this much of an answer
    webhook_retry_base: float = 30.0  # first retry delay; doubles per attempt, with jitter
    webhook_retry_max: float = 6 * 3600.0  # cap on one delay
    webhook_retry_window: float = 3 * 86400.0  # retry this long, then dead-letter
    webhook_lease_margin: float = 30.0  # a claimed attempt is re-fired after 2 x timeout + this
    webhook_redispatch_seconds: float = 60.0  # a due delivery is re-sent at most this often
    webhook_sweep_interval: float = 5.0  # seconds between webhooks.sweep runs
    webhook_disable_after_failures: int = 5  # consecutive dead letters disable an endpoint
    webhook_disable_after_seconds: float = 3 * 86400.0  # or failing continuously this long
    webhook_secret_grace_seconds: float = 86400.0  # a rotated-out secret still signs this long

    # Retrieval / file_search
    retrieval_max_file_tokens: int = 5_000_000
    retrieval_max_results: int = 20
    retrieval_quote_chars: int = 300
    retrieval_requeue_seconds: float = 120.0
    embedding_model: str = ""  # empty: lexical search only; set: hybrid (lexical + dense)
    embedding_base_url: str = ""  # empty: model_base_url
    embedding_api_key: str = ""  # empty: model_api_key
    embedding_batch: int = 64

    # Batches (orchestrator/batches): a tenant's queued + in_progress runs stay below this.
    batch_max_in_flight: int = 400
    batch_feed_chunk: int = 200  # most lines turned into runs per batch per tick
    batch_feed_interval: float = 1.0  # seconds between `batches.feed` ticks on beat
    # `orchestrator batch` (a client of a running server) and `orchestrator flower`.
    client_base_url: str = Field(default="http://127.0.0.1:8000/v1",
                                 validation_alias=AliasChoices("ORCH_BASE_URL"))
    client_api_key: str = Field(default="", validation_alias=AliasChoices(
        "ORCH_CLIENT_API_KEY", "OPENAI_API_KEY"))
    flower_basic_auth: str = ""  # user:password; required to listen beyond loopback

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
    sandbox_max_sessions: int = Field(default=16, ge=1)  # per worker; beyond: LRU idle closed
    sandbox_idle_ttl: float = 600.0
    sandbox_max_lifetime: float = 3600.0
    sandbox_concurrency: int = 4
    # Sandbox hosts: this worker's name (its own queue is `sandbox.<host>`, where a thread's
    # next cells return while this worker holds its session; one live worker per name), and
    # how often it renews its liveness key in Redis (which lapses after three missed beats:
    # then the thread's next cell starts a fresh session on another host).
    sandbox_host: str = Field(default_factory=socket.gethostname, min_length=1,
                              max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    sandbox_heartbeat_seconds: float = Field(default=5.0, gt=0)

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        """Accept a comma-separated string as well as a list."""
        if isinstance(value, str):
            return [k.strip() for k in value.split(",") if k.strip()]
        return value

    @field_validator("webhook_allow_networks", mode="before")
    @classmethod
    def _split_networks(cls, value: object) -> object:
        """Accept a comma-separated string; every item must be a network (a clear error)."""
        if isinstance(value, str):
            value = [n.strip() for n in value.split(",") if n.strip()]
        if isinstance(value, list):
            for item in value:
                try:
                    ipaddress.ip_network(str(item), strict=False)
                except ValueError:
                    raise ValueError(f"ORCH_WEBHOOK_ALLOW_NETWORKS: {item!r} is not a network"
                                     " (CIDR, e.g. 198.18.0.0/15)") from None
        return value

    @property
    def webhook_allowed_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network,
                                                ...]:
        """webhook_allow_networks parsed."""
        return tuple(ipaddress.ip_network(n, strict=False) for n in self.webhook_allow_networks)

    @field_validator("broker_url")
    @classmethod
    def _amqp_broker_url(cls, value: str) -> str:
        """Empty (the broker is ORCH_REDIS_URL's Redis) or a RabbitMQ URL, refused at start."""
        if value and urlsplit(value).scheme not in ("amqp", "amqps", "pyamqp"):
            raise ValueError("ORCH_BROKER_URL must be an amqp:// or amqps:// URL (RabbitMQ);"
                             " leave it empty to use ORCH_REDIS_URL's Redis as the broker")
        return value

    @field_validator("redis_url")
    @classmethod
    def _readable_redis_url(cls, value: str) -> str:
        """A malformed URL stops the process at start, not at its first use of Redis."""
        parse_sentinel(value)
        return value

    @model_validator(mode="after")
    def _lease_outlives_heartbeats(self) -> Settings:
        """A lease is renewed once it is a heartbeat old: it must last two heartbeats."""
        if self.lease_seconds <= 2 * self.heartbeat_seconds:
            raise ValueError(
                f"ORCH_LEASE_SECONDS ({self.lease_seconds:g}) must be more than twice "
                f"ORCH_HEARTBEAT_SECONDS ({self.heartbeat_seconds:g})")
        return self

    @field_validator("storage_url")
    @classmethod
    def _storage_url(cls, value: str) -> str:
        """Empty, or s3://bucket[/prefix] with a valid bucket name and nothing else."""
        if value:
            storage_location(value)
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


_BUCKET_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-")
_PREFIX_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")


def storage_location(url: str) -> tuple[str, str]:
    """(bucket, prefix) of an ORCH_STORAGE_URL `s3://bucket/prefix`; ValueError otherwise."""
    parts = urlsplit(url)
    if parts.scheme != "s3":
        raise ValueError(f"ORCH_STORAGE_URL {shown_url(url)!r}: the scheme must be s3:// "
                         "(or leave it empty for the local folder)")
    if parts.query or parts.fragment or "@" in parts.netloc or ":" in parts.netloc:
        raise ValueError(f"ORCH_STORAGE_URL {shown_url(url)!r}: only s3://bucket/prefix "
                         "(the endpoint and credentials have settings of their own)")
    bucket = parts.netloc
    if not (3 <= len(bucket) <= 63 and set(bucket) <= _BUCKET_CHARS
            and bucket[0].isalnum() and bucket[-1].isalnum()):
        raise ValueError(f"ORCH_STORAGE_URL {shown_url(url)!r}: {bucket!r} is not a "
                         "bucket name (3-63 of a-z, 0-9, '.', '-')")
    prefix = parts.path.strip("/")
    if prefix and not all(p.strip(".") and set(p) <= _PREFIX_CHARS for p in prefix.split("/")):
        raise ValueError(f"ORCH_STORAGE_URL {shown_url(url)!r}: the prefix may hold only "
                         "'/'-separated names of A-Z, a-z, 0-9, '.', '_', '-'")
    return bucket, prefix


def shown_url(url: str) -> str:
    """A configured URL as a message may show it: no user, password, query or fragment."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
