"""Deliver one webhook: claim under a lease, POST, log the attempt, retry, dead-letter, disable."""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from orchestrator import jobs
from orchestrator.config import get_settings
from orchestrator.db import unit_of_work
from orchestrator.jobs import Task
from orchestrator.models import WebhookAttemptRecord, WebhookDeliveryRecord, WebhookEndpointRecord
from orchestrator.models.base import now
from orchestrator.webhooks import sender
from orchestrator.webhooks.secrets import live, run_secret

PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"
BATCH = 500
log = logging.getLogger(__name__)


@dataclass
class Claim:
    """What a worker needs for one attempt, taken from the database under a lease."""

    delivery_id: str
    version: int  # the delivery's version once claimed: our result must find it unchanged
    tries: int  # attempts in this round, this one included
    endpoint_id: str | None
    url: str
    body: str
    event_id: str
    secrets: list[str]
    retry_until: float


def _cas(session: Session, delivery_id: str, status: str, version: int,
         changes: dict[str, Any]) -> dict[str, Any] | None:
    values = {**changes, "version": version + 1}
    result = session.exec(update(WebhookDeliveryRecord).where(
        col(WebhookDeliveryRecord.id) == delivery_id,
        col(WebhookDeliveryRecord.status) == status,
        col(WebhookDeliveryRecord.version) == version,
    ).values(**values).execution_options(synchronize_session=False))
    return values if result.rowcount == 1 else None


def cas(session: Session, rec: WebhookDeliveryRecord, changes: dict[str, Any]) -> bool:
    """Write `changes` if the delivery is still at the status and version we read."""
    values = _cas(session, rec.id, rec.status, rec.version, changes)
    if values is None:
        return False
    for key, value in values.items():
        set_committed_value(rec, key, value)
    return True


def _load(session: Session, delivery_id: str) -> WebhookDeliveryRecord | None:
    return session.exec(select(WebhookDeliveryRecord).where(
        col(WebhookDeliveryRecord.id) == delivery_id)).first()


def claim(session: Session, delivery_id: str) -> Claim | None:
    """Take a due delivery; the lease is next_attempt_at, so a dead worker's claim comes back."""
    rec = _load(session, delivery_id)
    t = time.time()
    if rec is None or rec.status != PENDING or rec.next_attempt_at > t:
        return None  # done, or claimed by a live worker, or not due yet
    if rec.endpoint_id is not None:
        endpoint = session.exec(select(WebhookEndpointRecord).where(
            col(WebhookEndpointRecord.id) == rec.endpoint_id)).first()
        if endpoint is None:
            return None
        if endpoint.disabled:
            cas(session, rec, {"status": FAILED,
                               "last_error": f"endpoint disabled: {endpoint.disabled_reason}"})
            return None
        url, secrets = endpoint.url, live(endpoint)
    else:
        assert rec.url is not None
        url, secrets = rec.url, live(run_secret(session, rec.tenant))
    s = get_settings()
    lease = t + 2 * s.webhook_timeout + s.webhook_lease_margin
    if not cas(session, rec, {"tries": rec.tries + 1, "attempts": rec.attempts + 1,
                              "next_attempt_at": lease, "last_attempt_at": now()}):
        return None
    return Claim(rec.id, rec.version, rec.tries, rec.endpoint_id, url, rec.body, rec.event_id,
                 secrets, rec.retry_until)


def backoff(tries: int) -> float:
    """Exponential delay after the `tries`-th failed attempt, with jitter (half to full)."""
    s = get_settings()
    delay = min(s.webhook_retry_max, s.webhook_retry_base * 2 ** max(0, tries - 1))
    return delay / 2 + random.uniform(0, delay / 2)


def _endpoint_update(session: Session, endpoint_id: str, **values: Any) -> None:
    session.exec(update(WebhookEndpointRecord).where(
        col(WebhookEndpointRecord.id) == endpoint_id).values(**values).execution_options(
        synchronize_session=False))


def _maybe_disable(session: Session, endpoint_id: str, t: float) -> None:
    s = get_settings()
    base = update(WebhookEndpointRecord).where(
        col(WebhookEndpointRecord.id) == endpoint_id,
        col(WebhookEndpointRecord.disabled) == False)  # noqa: E712
    session.exec(base.where(
        col(WebhookEndpointRecord.consecutive_failures) >= s.webhook_disable_after_failures,
    ).values(disabled=True, disabled_reason=(
        f"Disabled after {s.webhook_disable_after_failures} consecutive failed deliveries."
    )).execution_options(synchronize_session=False))
    session.exec(base.where(
        col(WebhookEndpointRecord.failing_since) <= t - s.webhook_disable_after_seconds,
    ).values(disabled=True, disabled_reason=(
        f"Disabled after failing continuously for {s.webhook_disable_after_seconds:g} s."
    )).execution_options(synchronize_session=False))


def record(session: Session, claim: Claim, outcome: sender.Outcome) -> str:
    """Log the attempt; then succeed, schedule the retry, or dead-letter (version-checked)."""
    t = time.time()
    result: dict[str, Any] = {"last_status_code": outcome.status_code,
                              "last_error": outcome.error}
    delay = backoff(claim.tries)
    dead = not outcome.ok and t + delay > claim.retry_until
    if outcome.ok:
        result.update(status=SUCCEEDED, delivered_at=now())
    elif dead:
        result.update(status=FAILED)
    else:
        result.update(next_attempt_at=t + delay, dispatched_at=None)
    written = _cas(session, claim.delivery_id, PENDING, claim.version, result) is not None
    if written or _load(session, claim.delivery_id) is not None:  # not deleted meanwhile
        session.add(WebhookAttemptRecord(
            delivery_id=claim.delivery_id, status_code=outcome.status_code,
            latency_ms=outcome.latency_ms, response_excerpt=outcome.excerpt, error=outcome.error))
    if not written:
        return "stale"  # replayed, re-claimed after our lease, or deleted: nothing to change
    if outcome.ok:
        if claim.endpoint_id:  # only an endpoint with a failure record is written
            session.exec(update(WebhookEndpointRecord).where(
                col(WebhookEndpointRecord.id) == claim.endpoint_id,
                (col(WebhookEndpointRecord.consecutive_failures) != 0)
                | col(WebhookEndpointRecord.failing_since).is_not(None),
            ).values(consecutive_failures=0, failing_since=None).execution_options(
                synchronize_session=False))
        return "delivered"
    if claim.endpoint_id:
        if dead:
            _endpoint_update(session, claim.endpoint_id, failing_since=func.coalesce(
                WebhookEndpointRecord.failing_since, t),
                consecutive_failures=WebhookEndpointRecord.consecutive_failures + 1)
        else:  # the first failure since the last success starts the clock
            session.exec(update(WebhookEndpointRecord).where(
                col(WebhookEndpointRecord.id) == claim.endpoint_id,
                col(WebhookEndpointRecord.failing_since).is_(None),
            ).values(failing_since=t).execution_options(synchronize_session=False))
        _maybe_disable(session, claim.endpoint_id, t)
    return "dead-lettered" if dead else f"retry in {delay:.1f}s"


def deliver(delivery_id: str) -> str:
    """One attempt of one delivery: claim (commit), POST outside any transaction, record."""
    with unit_of_work() as session:
        claimed = claim(session, delivery_id)
    if claimed is None:
        return "nothing to do"
    try:
        outcome = sender.post(claimed.url, claimed.body, claimed.event_id, claimed.secrets)
    except Exception as exc:  # a bug or an odd URL must not leave the delivery looping
        log.exception("webhook delivery %s crashed", delivery_id)
        outcome = sender.Outcome(False, None, 0, None, f"{type(exc).__name__}: {exc}"[:500])
    with unit_of_work() as session:
        return record(session, claimed, outcome)


def sweep(session: Session) -> int:
    """Send deliver tasks for due deliveries (retries, and claims whose worker died)."""
    t = time.time()
    again = t - get_settings().webhook_redispatch_seconds
    due = session.exec(select(WebhookDeliveryRecord.id).where(
        col(WebhookDeliveryRecord.status) == PENDING,
        col(WebhookDeliveryRecord.next_attempt_at) <= t,
        col(WebhookDeliveryRecord.dispatched_at).is_(None)
        | (col(WebhookDeliveryRecord.dispatched_at) < again),
    ).order_by(col(WebhookDeliveryRecord.next_attempt_at)).limit(BATCH)).all()
    if due:
        session.exec(update(WebhookDeliveryRecord).where(
            col(WebhookDeliveryRecord.id).in_(list(due))).values(
            dispatched_at=t).execution_options(synchronize_session=False))
        for delivery_id in due:
            jobs.enqueue(session, Task.WEBHOOK_DELIVER, delivery_id)
    return len(due)
