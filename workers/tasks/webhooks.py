"""webhooks.deliver (one attempt of one delivery) and webhooks.sweep (due retries, on beat)."""

from __future__ import annotations

import contextlib

from redis.exceptions import LockError

from orchestrator.config import get_settings
from orchestrator.db import unit_of_work
from orchestrator.redis_client import get_redis
from orchestrator.webhooks import delivery
from workers.celery_app import app


@app.task(name="webhooks.deliver", queue="webhooks")
def deliver(delivery_id: str) -> str:
    """POST delivery `delivery_id` once and record the outcome."""
    return delivery.deliver(delivery_id)


@app.task(name="webhooks.sweep", queue="maintenance")
def sweep() -> str:
    """Send deliver tasks for due retries and lapsed claims (one sweeper at a time)."""
    interval = get_settings().webhook_sweep_interval
    lock = get_redis().lock("orch:lock:webhooks.sweep", timeout=max(30.0, interval * 10),
                            blocking=False)
    if not lock.acquire(blocking=False):
        return "another sweeper is running"
    try:
        with unit_of_work() as session:
            return f"dispatched={delivery.sweep(session)}"
    finally:
        with contextlib.suppress(LockError):
            lock.release()
