"""Webhook records to wire objects."""

from __future__ import annotations

import math

from orchestrator.faces.assistants.schemas.webhook import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEndpointWithSecret,
    WebhookRunSecret,
)
from orchestrator.models import (
    WebhookAttemptRecord,
    WebhookDeliveryRecord,
    WebhookEndpointRecord,
    WebhookRunSecretRecord,
)


def _ts(value: float | None) -> int | None:
    return None if value is None else math.ceil(value)


def endpoint(rec: WebhookEndpointRecord) -> WebhookEndpoint:
    """The endpoint without its secret."""
    return WebhookEndpoint(
        id=rec.id, created_at=rec.created_at, url=rec.url, events=list(rec.events),
        description=rec.description, metadata=rec.meta if rec.meta is not None else {},
        api_version=rec.api_version, status="disabled" if rec.disabled else "enabled",
        disabled_reason=rec.disabled_reason,
        previous_secret_expires_at=_ts(rec.previous_secret_expires_at),
    )


def endpoint_with_secret(rec: WebhookEndpointRecord) -> WebhookEndpointWithSecret:
    """The endpoint and its current signing secret (create, rotate_secret)."""
    return WebhookEndpointWithSecret(**endpoint(rec).model_dump(), secret=rec.secret)


def attempt(rec: WebhookAttemptRecord) -> WebhookAttempt:
    """One attempt of the log."""
    return WebhookAttempt(created_at=rec.created_at, status_code=rec.status_code,
                          latency_ms=rec.latency_ms, response_excerpt=rec.response_excerpt,
                          error=rec.error)


def delivery(rec: WebhookDeliveryRecord, attempts: list[WebhookAttemptRecord]) -> WebhookDelivery:
    """A delivery and its attempts, oldest first."""
    return WebhookDelivery(
        id=rec.id, created_at=rec.created_at, endpoint_id=rec.endpoint_id, event_id=rec.event_id,
        event_type=rec.event_type, run_id=rec.run_id, status=rec.status,  # type: ignore[arg-type]
        attempt_count=rec.attempts,
        next_attempt_at=_ts(rec.next_attempt_at) if rec.status == "pending" else None,
        last_status_code=rec.last_status_code, last_error=rec.last_error,
        delivered_at=rec.delivered_at, attempts=[attempt(a) for a in attempts])


def run_secret(rec: WebhookRunSecretRecord) -> WebhookRunSecret:
    """The tenant's run-webhook secret."""
    return WebhookRunSecret(secret=rec.secret,
                            previous_secret_expires_at=_ts(rec.previous_secret_expires_at))
