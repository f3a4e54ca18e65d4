"""Webhook deliveries written in the transaction of the event they report (the outbox)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import bindparam, false, literal, null, select, union_all
from sqlmodel import Session

from orchestrator import jobs
from orchestrator.config import get_settings
from orchestrator.errors import InvalidRequest
from orchestrator.ids import new_id
from orchestrator.jobs import Task
from orchestrator.models import (
    RunRecord,
    RunWebhookRecord,
    WebhookDeliveryRecord,
    WebhookEndpointRecord,
)
from orchestrator.models.base import now
from orchestrator.streaming.outbox import new_event_id
from orchestrator.webhooks.guard import UnsafeTarget, validate
from orchestrator.webhooks.secrets import run_secret

ALL = "*"  # an endpoint subscribed to every event


def check_target(url: str, param: str) -> str:
    """A URL a webhook may be sent to, or a 400 naming `param`."""
    try:
        s = get_settings()
        validate(url, s.webhook_allow_private, s.webhook_allowed_networks)
    except UnsafeTarget as exc:
        raise InvalidRequest(f"Invalid '{param}': {exc}.", param=param,
                             code="invalid_webhook_url") from None
    return url


def check_run_url(url: str | None) -> None:
    """A run's `webhook_url` is checked at create time (and again at delivery time)."""
    if url is not None:
        check_target(url, "webhook_url")


def attach_run_url(session: Session, run: RunRecord, url: str | None, version: str) -> None:
    """Remember a run's (already checked) `webhook_url`."""
    if url is None:
        return
    run_secret(session, run.tenant)  # exists before the first delivery needs it
    session.add(RunWebhookRecord(run_id=run.id, tenant=run.tenant, url=url, api_version=version))


def _wants(endpoint: Any, event: str) -> bool:
    """Whether an endpoint (a record or a row with `events`) subscribed to `event`."""
    return ALL in endpoint.events or event in endpoint.events


def event_body(event_id: str, event: str, data: dict[str, Any]) -> str:
    """The exact JSON text that is signed and sent on every attempt."""
    return json.dumps({"id": event_id, "object": "event", "type": event, "created_at": now(),
                       "data": data}, separators=(",", ":"), ensure_ascii=False)


def new_delivery(session: Session, tenant: str, event_id: str, event: str, body: str, *,
                 endpoint_id: str | None = None, url: str | None = None,
                 run_id: str | None = None) -> WebhookDeliveryRecord:
    """A pending delivery, dispatched right after commit (the sweeper is the safety net)."""
    t = time.time()
    row = WebhookDeliveryRecord(
        id=new_id("webhook_delivery"), tenant=tenant, endpoint_id=endpoint_id, url=url,
        run_id=run_id, event_id=event_id, event_type=event, body=body, next_attempt_at=t,
        dispatched_at=t, retry_until=t + get_settings().webhook_retry_window)
    session.add(row)
    jobs.enqueue(session, Task.WEBHOOK_DELIVER, row.id)
    return row


_ENDPOINTS = WebhookEndpointRecord.__table__  # type: ignore[attr-defined]
_RUN_HOOKS = RunWebhookRecord.__table__  # type: ignore[attr-defined]
# Built once: on a run's path this is one cached Core statement (one round trip), no ORM
# loading or autoflush: the tenant's enabled endpoints, then the run's own webhook_url.
RECEIVERS = union_all(
    select(literal("endpoint").label("kind"), _ENDPOINTS.c.id, _ENDPOINTS.c.events,
           _ENDPOINTS.c.api_version, null().label("url")).where(
        _ENDPOINTS.c.tenant == bindparam("tenant"), _ENDPOINTS.c.disabled == false()),
    select(literal("hook"), null(), null(), _RUN_HOOKS.c.api_version, _RUN_HOOKS.c.url).where(
        _RUN_HOOKS.c.run_id == bindparam("run_id")),
)


def on_run_event(session: Session, run: RunRecord, event: str,
                 render: Callable[[str], dict[str, Any]]) -> None:
    """Write one delivery of `event` per interested receiver of the run's tenant.

    `render(api_version)` is the face's payload for receivers of that API version, built
    once per version and only when someone receives it.
    """
    if session.new:  # rows added in this transaction (a run's webhook_url) must be visible
        session.flush()
    rows = session.connection().execute(RECEIVERS, {"tenant": run.tenant, "run_id": run.id})
    endpoints, hook = [], None
    for row in rows:
        if row.kind == "hook":
            hook = row
        elif _wants(row, event):
            endpoints.append(row)
    if not endpoints and hook is None:
        return
    event_id = new_event_id()
    bodies: dict[str, str] = {}

    def body(version: str) -> str:
        if version not in bodies:
            bodies[version] = event_body(event_id, event, render(version))
        return bodies[version]

    for endpoint in endpoints:
        new_delivery(session, run.tenant, event_id, event, body(endpoint.api_version),
                     endpoint_id=endpoint.id, run_id=run.id)
    if hook is not None:
        new_delivery(session, run.tenant, event_id, event, body(hook.api_version),
                     url=hook.url, run_id=run.id)
