"""webhooks.deliver (one attempt of one delivery) and webhooks.sweep (due retries, on beat)."""

from __future__ import annotations

from orchestrator.config import get_settings
from orchestrator.db import unit_of_work
from orchestrator.jobs import Task
from orchestrator.webhooks import delivery
from workers.celery_app import app
from workers.leader import single_leader


@app.task(name=Task.WEBHOOK_DELIVER, queue="webhooks")
def deliver(delivery_id: str) -> str:
    """POST delivery `delivery_id` once and record the outcome."""
    return delivery.deliver(delivery_id)


@app.task(name=Task.WEBHOOK_SWEEP, queue="maintenance")
def sweep() -> str:
    """Send deliver tasks for due retries and lapsed claims (one sweeper at a time)."""
    interval = get_settings().webhook_sweep_interval
    with single_leader(Task.WEBHOOK_SWEEP, max(30.0, interval * 10)) as leader:
        if not leader:
            return "another sweeper is running"
        with unit_of_work() as session:
            return f"dispatched={delivery.sweep(session)}"
