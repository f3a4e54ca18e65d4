"""Webhook endpoints, per tenant: add, change, remove, rotate; deliveries list and replay.

Face-neutral: plain values in; each face parses its own request bodies.
"""

from __future__ import annotations

import time
from typing import Any

from sqlmodel import Session, col, delete, func, select

from orchestrator import jobs
from orchestrator.config import get_settings
from orchestrator.errors import InvalidRequest, not_found
from orchestrator.ids import new_id
from orchestrator.jobs import Task
from orchestrator.models import (
    WebhookAttemptRecord,
    WebhookDeliveryRecord,
    WebhookEndpointRecord,
    WebhookRunSecretRecord,
)
from orchestrator.records import get_owned
from orchestrator.webhooks import catalog
from orchestrator.webhooks.delivery import PENDING, cas
from orchestrator.webhooks.outbox import ALL, check_target
from orchestrator.webhooks.secrets import new_secret, rotate, run_secret

MAX_ENDPOINTS = 50  # per tenant; every run transition reads them


def check_events(events: list[str] | None) -> list[str]:
    """Names among the registered events (or "*"), without duplicates; a 400 naming the bad
    one."""
    known = catalog.known()
    if events is None:
        return [ALL]
    if not events:
        raise InvalidRequest("'events' must name at least one event (or \"*\" for all).",
                             param="events")
    for i, name in enumerate(events):
        if name != ALL and name not in known:
            raise InvalidRequest(
                f"Unknown event '{name}'. Valid events: {', '.join(sorted(known))}, or \"*\".",
                param=f"events[{i}]", code="invalid_event")
    return list(dict.fromkeys(events))


def get(session: Session, tenant: str, endpoint_id: str) -> WebhookEndpointRecord:
    """The tenant's endpoint, or 404."""
    return get_owned(session, WebhookEndpointRecord, tenant, endpoint_id, "webhook endpoint")


def add(session: Session, tenant: str, *, url: str, events: list[str] | None,
        description: str | None, metadata: dict[str, str] | None,
        api_version: str) -> WebhookEndpointRecord:
    """Check URL and events, then record the endpoint with a fresh secret."""
    events = check_events(events)
    url = check_target(url, "url")
    count = session.exec(select(func.count()).select_from(WebhookEndpointRecord).where(
        col(WebhookEndpointRecord.tenant) == tenant)).one()
    if int(count) >= MAX_ENDPOINTS:
        raise InvalidRequest(f"A project can have at most {MAX_ENDPOINTS} webhook endpoints.")
    rec = WebhookEndpointRecord(
        id=new_id("webhook_endpoint"), tenant=tenant, url=url, events=events,
        description=description, meta=metadata, api_version=api_version,
        secret=new_secret())
    session.add(rec)
    session.flush()
    return rec


def change(session: Session, tenant: str, endpoint_id: str,
           sent: dict[str, Any]) -> WebhookEndpointRecord:
    """Change the fields the request sent (url, events, description, metadata, disabled);
    re-enabling clears the failure record."""
    events = check_events(sent["events"]) if "events" in sent else None
    url = sent.get("url")
    if "url" in sent:
        if url is None:
            raise InvalidRequest("'url' cannot be null.", param="url")
        check_target(url, "url")
    rec = get(session, tenant, endpoint_id)
    if url is not None:
        rec.url = url
    if events is not None:
        rec.events = events
    if "description" in sent:
        rec.description = sent["description"]
    if "metadata" in sent:
        rec.meta = sent["metadata"]
    disabled = sent.get("disabled")
    if disabled is not None:
        if disabled and not rec.disabled:
            rec.disabled, rec.disabled_reason = True, "Disabled by the user."
        elif not disabled and rec.disabled:
            rec.disabled, rec.disabled_reason = False, None
            rec.consecutive_failures, rec.failing_since = 0, None
    session.add(rec)
    session.flush()
    return rec


def remove(session: Session, tenant: str, endpoint_id: str) -> str:
    """Delete the endpoint with its deliveries and their log."""
    rec = get(session, tenant, endpoint_id)
    ids = select(WebhookDeliveryRecord.id).where(
        col(WebhookDeliveryRecord.endpoint_id) == rec.id)
    session.exec(delete(WebhookAttemptRecord).where(
        col(WebhookAttemptRecord.delivery_id).in_(ids)))
    session.exec(delete(WebhookDeliveryRecord).where(
        col(WebhookDeliveryRecord.endpoint_id) == rec.id))
    session.delete(rec)
    session.flush()
    return rec.id


def rotate_secret(session: Session, tenant: str, endpoint_id: str) -> WebhookEndpointRecord:
    """A new secret; the old one keeps signing (as a second signature) for the grace period."""
    rec = get(session, tenant, endpoint_id)
    rotate(rec)
    session.add(rec)
    session.flush()
    return rec


def rotate_run_secret(session: Session, tenant: str) -> WebhookRunSecretRecord:
    """A new run secret; the old one keeps signing for the grace period."""
    rec = run_secret(session, tenant)
    rotate(rec)
    session.add(rec)
    session.flush()
    return rec


def attempts_of(session: Session, ids: list[str]) -> dict[str, list[WebhookAttemptRecord]]:
    """The attempt log of several deliveries, oldest first, in one query."""
    out: dict[str, list[WebhookAttemptRecord]] = {i: [] for i in ids}
    if ids:
        for row in session.exec(select(WebhookAttemptRecord).where(
                col(WebhookAttemptRecord.delivery_id).in_(ids)).order_by(
                col(WebhookAttemptRecord.seq))).all():
            out[row.delivery_id].append(row)
    return out


def scope(tenant: str, endpoint_id: str | None) -> list[Any]:
    """Deliveries of one endpoint, or (None) those to the tenant's runs' webhook_url."""
    if endpoint_id is None:
        return [col(WebhookDeliveryRecord.tenant) == tenant,
                col(WebhookDeliveryRecord.endpoint_id).is_(None)]
    return [col(WebhookDeliveryRecord.endpoint_id) == endpoint_id]


def get_delivery(session: Session, tenant: str, endpoint_id: str | None,
                 delivery_id: str) -> WebhookDeliveryRecord:
    """One delivery of the tenant's endpoint (None: to a run's webhook_url), or 404."""
    if endpoint_id is not None:
        get(session, tenant, endpoint_id)
    rec = session.exec(select(WebhookDeliveryRecord).where(
        col(WebhookDeliveryRecord.id) == delivery_id, *scope(tenant, endpoint_id))).first()
    if rec is None:
        raise not_found("webhook delivery", delivery_id)
    return rec


def replay(session: Session, tenant: str, endpoint_id: str | None,
           delivery_id: str) -> WebhookDeliveryRecord:
    """Send a finished delivery again (same webhook-id, new round of retries)."""
    rec = get_delivery(session, tenant, endpoint_id, delivery_id)
    if endpoint_id is not None and get(session, tenant, endpoint_id).disabled:
        raise InvalidRequest(f"Webhook endpoint {endpoint_id} is disabled; enable it first.")
    if rec.status == PENDING:
        raise InvalidRequest(f"Delivery {delivery_id} is still pending.")
    t = time.time()
    if not cas(session, rec, {"status": PENDING, "tries": 0, "next_attempt_at": t,
                              "dispatched_at": t, "delivered_at": None,
                              "retry_until": t + get_settings().webhook_retry_window}):
        raise InvalidRequest(f"Delivery {delivery_id} changed meanwhile; try again.")
    jobs.enqueue(session, Task.WEBHOOK_DELIVER, rec.id)
    return rec
