"""Webhook endpoint, delivery and run-secret request bodies and wire objects (our extension)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from orchestrator.faces.assistants.schemas.common import Metadata, Request, Wire


class CreateWebhookEndpoint(Request):
    """POST /webhook_endpoints; `events` defaults to every event ("*")."""

    url: str = Field(max_length=2048)
    events: list[str] | None = Field(default=None, max_length=32)
    description: str | None = Field(default=None, max_length=512)
    metadata: Metadata = None


class ModifyWebhookEndpoint(Request):
    """POST /webhook_endpoints/{id}: any of url, events, disabled, description, metadata."""

    url: str | None = Field(default=None, max_length=2048)
    events: list[str] | None = Field(default=None, max_length=32)
    disabled: bool | None = None
    description: str | None = Field(default=None, max_length=512)
    metadata: Metadata = None


class WebhookEndpoint(Wire):
    """A registered receiver (the secret is only shown by create and rotate_secret)."""

    id: str
    object: Literal["webhook_endpoint"] = "webhook_endpoint"
    created_at: int
    url: str
    events: list[str]
    description: str | None
    metadata: dict[str, str] | None
    api_version: str
    status: Literal["enabled", "disabled"]
    disabled_reason: str | None
    previous_secret_expires_at: int | None  # the rotated-out secret signs until then


class WebhookEndpointWithSecret(WebhookEndpoint):
    """create / rotate_secret: the signing secret, shown once."""

    secret: str


class WebhookAttempt(Wire):
    """One HTTP attempt in a delivery's log."""

    created_at: int
    status_code: int | None
    latency_ms: int
    response_excerpt: str | None
    error: str | None


class WebhookDelivery(Wire):
    """One event sent to one endpoint, with its attempts."""

    id: str
    object: Literal["webhook_endpoint.delivery"] = "webhook_endpoint.delivery"
    created_at: int
    endpoint_id: str | None
    event_id: str
    event_type: str
    run_id: str | None
    status: Literal["pending", "succeeded", "failed"]
    attempt_count: int
    next_attempt_at: int | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: int | None
    attempts: list[WebhookAttempt]


class WebhookRunSecret(Wire):
    """The tenant's secret for runs created with `webhook_url`."""

    object: Literal["webhook_run_secret"] = "webhook_run_secret"
    secret: str
    previous_secret_expires_at: int | None
