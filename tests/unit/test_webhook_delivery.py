"""Delivery state machine on a real migrated SQLite database and a real loopback receiver."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlmodel import select

from orchestrator import jobs
from orchestrator.config import get_settings
from orchestrator.db import get_engine, unit_of_work
from orchestrator.migrate import upgrade
from orchestrator.models import WebhookDeliveryRecord, WebhookEndpointRecord
from orchestrator.webhooks import delivery, sender
from orchestrator.webhooks.outbox import new_delivery
from orchestrator.webhooks.secrets import new_secret
from tests.support.receiver import Answer, Receiver, receiver
from tests.support.servers import REDIS_URL


@pytest.fixture()
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A migrated SQLite database and settings with short webhook timings."""
    for key, value in {
        "ORCH_DATABASE_URL": f"sqlite:///{tmp_path / 'hooks.db'}",
        "ORCH_REDIS_URL": REDIS_URL,
        "ORCH_WEBHOOK_ALLOW_PRIVATE": "true",
        "ORCH_WEBHOOK_TIMEOUT": "1",
        "ORCH_WEBHOOK_LEASE_MARGIN": "0",
        "ORCH_WEBHOOK_RETRY_BASE": "0.2",
        "ORCH_WEBHOOK_RETRY_MAX": "0.4",
        "ORCH_WEBHOOK_RETRY_WINDOW": "60",
        "ORCH_WEBHOOK_DISABLE_AFTER_SECONDS": "0.5",
        "ORCH_WEBHOOK_REDISPATCH_SECONDS": "0",
    }.items():
        monkeypatch.setenv(key, value)
    caches = (get_settings, get_engine, jobs.producer)
    for cache in caches:
        cache.cache_clear()
    sender._client = None
    upgrade(revision="head")
    yield
    redis.Redis.from_url(REDIS_URL).delete("webhooks")  # no worker here: drop what we sent
    get_engine().dispose()
    for cache in caches:
        cache.cache_clear()
    sender._client = None


@pytest.fixture()
def rx() -> Iterator[Receiver]:
    """A loopback receiver."""
    with receiver() as r:
        yield r


def _endpoint(url: str) -> str:
    with unit_of_work() as s:
        s.add(WebhookEndpointRecord(id="we_unit", tenant="ten_unit", url=url, events=["*"],
                                    secret=new_secret()))
    return "we_unit"


def _delivery(endpoint_id: str) -> str:
    with unit_of_work() as s:
        return new_delivery(s, "ten_unit", "evt_unit", "thread.run.completed", '{"a":1}',
                            endpoint_id=endpoint_id).id


def _state(delivery_id: str) -> WebhookDeliveryRecord:
    with unit_of_work() as s:
        row = s.exec(select(WebhookDeliveryRecord).where(
            WebhookDeliveryRecord.id == delivery_id)).one()
        s.expunge(row)
        return row


def test_backoff_doubles_with_jitter_and_is_capped(db: None) -> None:
    for tries, full in [(1, 0.2), (2, 0.4), (3, 0.4), (9, 0.4)]:
        delays = [delivery.backoff(tries) for _ in range(200)]
        assert all(full / 2 <= d <= full for d in delays)
        assert max(delays) - min(delays) > full / 10  # jittered, not constant


def test_a_claim_holds_a_lease_and_a_late_result_is_stale(db: None, rx: Receiver) -> None:
    delivery_id = _delivery(_endpoint(rx.url))
    with unit_of_work() as s:
        first = delivery.claim(s, delivery_id)
    assert first is not None
    with unit_of_work() as s:
        assert delivery.claim(s, delivery_id) is None  # leased: a duplicate task does nothing
    time.sleep(2.1)  # the lease (2 x timeout + margin 0) lapses: the worker is presumed dead
    with unit_of_work() as s:
        second = delivery.claim(s, delivery_id)
    assert second is not None and second.version > first.version
    late = sender.post(first.url, first.body, first.event_id, first.secrets)
    with unit_of_work() as s:
        assert delivery.record(s, first, late) == "stale"
    with unit_of_work() as s:
        assert delivery.record(s, second, sender.post(
            second.url, second.body, second.event_id, second.secrets)) == "delivered"
    state = _state(delivery_id)
    assert state.status == "succeeded" and state.attempts == 2
    assert [g.headers["webhook-id"] for g in rx.received] == ["evt_unit", "evt_unit"]


def test_failing_continuously_disables_the_endpoint(db: None, rx: Receiver) -> None:
    endpoint_id = _endpoint(rx.url)
    rx.script(*[Answer(500)] * 20)
    delivery_id = _delivery(endpoint_id)
    assert delivery.deliver(delivery_id).startswith("retry in")
    time.sleep(0.6)  # ORCH_WEBHOOK_DISABLE_AFTER_SECONDS=0.5 without a single success
    assert delivery.deliver(delivery_id).startswith("retry in")
    with unit_of_work() as s:
        ep = s.exec(select(WebhookEndpointRecord).where(
            WebhookEndpointRecord.id == endpoint_id)).one()
        assert ep.disabled and "failing continuously" in (ep.disabled_reason or "")
    time.sleep(0.5)
    assert delivery.deliver(delivery_id) == "nothing to do"  # a disabled endpoint gets nothing
    state = _state(delivery_id)
    assert state.status == "failed" and "endpoint disabled" in (state.last_error or "")
    assert len(rx.received) == 2


def test_sweeper_dispatches_only_due_deliveries(db: None, rx: Receiver) -> None:
    endpoint_id = _endpoint(rx.url)
    delivery_id = _delivery(endpoint_id)
    with unit_of_work() as s:
        assert delivery.sweep(s) == 1  # due, and REDISPATCH_SECONDS=0
    rx.script(Answer(503))
    assert delivery.deliver(delivery_id).startswith("retry in")
    with unit_of_work() as s:
        assert delivery.sweep(s) == 0  # backing off: not due yet
    time.sleep(0.5)
    with unit_of_work() as s:
        assert delivery.sweep(s) == 1
    assert delivery.deliver(delivery_id) == "delivered"
    with unit_of_work() as s:
        assert delivery.sweep(s) == 0
