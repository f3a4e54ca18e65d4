"""Webhook tables: endpoints, the per-run URL, the tenant's run secret, deliveries, attempts."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import ForeignKey, Index, String, Text
from sqlmodel import Field, SQLModel

from orchestrator.models.base import SEQ_TYPE, OwnedBase, json_field, now

# The API version a receiver's payloads are rendered for (`api_version` below).
ApiVersion = Literal["v1", "v2"]


class WebhookEndpointRecord(OwnedBase, table=True):
    """A registered receiver; `secret` signs, `previous_secret` too until its grace ends."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_tenant_disabled", "tenant", "disabled"),)

    url: str = Field(sa_type=Text)
    events: list[str] = json_field(list)
    description: str | None = Field(default=None, max_length=512)
    meta: dict[str, str] | None = json_field(default=None, sa_column_kwargs={"name": "metadata"})
    api_version: str = Field(default="v2", max_length=4)
    secret: str = Field(max_length=128)
    previous_secret: str | None = Field(default=None, max_length=128)
    previous_secret_expires_at: float | None = None
    disabled: bool = False
    disabled_reason: str | None = Field(default=None, max_length=512)
    consecutive_failures: int = 0  # dead letters since the last success
    failing_since: float | None = None  # first failed attempt since the last success


class RunWebhookRecord(SQLModel, table=True):
    """The `webhook_url` a run was created with (signed with the tenant's run secret)."""

    __tablename__ = "run_webhooks"

    run_id: str = Field(primary_key=True, sa_type=String(64),
                        sa_column_args=[ForeignKey("runs.id", ondelete="CASCADE")])
    tenant: str = Field(max_length=64)
    url: str = Field(sa_type=Text)
    api_version: str = Field(default="v2", max_length=4)
    created_at: int = Field(default_factory=now)


class WebhookRunSecretRecord(SQLModel, table=True):
    """The tenant's secret for per-run webhook_url deliveries."""

    __tablename__ = "webhook_run_secrets"

    tenant: str = Field(primary_key=True, max_length=64)
    secret: str = Field(max_length=128)
    previous_secret: str | None = Field(default=None, max_length=128)
    previous_secret_expires_at: float | None = None
    created_at: int = Field(default_factory=now)


class WebhookDeliveryRecord(OwnedBase, table=True):
    """One event for one receiver; `event_id` is the webhook-id of every attempt."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_endpoint_seq", "endpoint_id", "seq"),
    )

    endpoint_id: str | None = Field(
        default=None, sa_type=String(64),
        sa_column_args=[ForeignKey("webhook_endpoints.id", ondelete="CASCADE")])
    run_id: str | None = Field(default=None, max_length=64)
    url: str | None = Field(default=None, sa_type=Text)  # per-run deliveries only
    event_id: str = Field(max_length=64)
    event_type: str = Field(max_length=64)
    body: str = Field(sa_type=Text)  # the exact signed payload
    status: str = Field(default="pending", max_length=16)
    version: int = 0
    tries: int = 0  # attempts in the current round (a replay starts a new round)
    attempts: int = 0  # attempts ever
    next_attempt_at: float = 0.0
    dispatched_at: float | None = None  # last time a deliver task was sent for it
    retry_until: float = 0.0
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, sa_type=Text)
    last_attempt_at: int | None = None
    delivered_at: int | None = None


class WebhookAttemptRecord(SQLModel, table=True):
    """One HTTP attempt of a delivery, for the delivery log."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery", "delivery_id", "seq"),)

    seq: int | None = Field(default=None, primary_key=True, sa_type=SEQ_TYPE)
    delivery_id: str = Field(sa_type=String(64), sa_column_args=[
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE")])
    created_at: int = Field(default_factory=now)
    status_code: int | None = None
    latency_ms: int = 0
    response_excerpt: str | None = Field(default=None, sa_type=Text)
    error: str | None = Field(default=None, sa_type=Text)
