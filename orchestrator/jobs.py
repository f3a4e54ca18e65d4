"""The task names (Task) and sending tasks by name after the unit of work commits."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import redis
from celery import Celery
from kombu.exceptions import KombuError
from sqlmodel import Session

from orchestrator import broker
from orchestrator.db import after_commit
from orchestrator.redis_client import OUTAGE
from orchestrator.shared import process_wide


@process_wide
def producer() -> Celery:
    """A Celery app used only to publish messages (the API never imports the workers)."""
    app = Celery("orchestrator-producer")
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        **broker.celery_settings(),  # Redis or RabbitMQ: URL, queues, transport options
        task_ignore_result=True,
        broker_pool_limit=64,  # the worker's pool threads publish through this app too
    )
    return app


class Task(StrEnum):
    """Every Celery task's name: the only place these strings are written (sandbox/tasks.py
    repeats its own two, checked equal by tests/unit/test_task_names.py)."""

    ADVANCE = "runs.advance"
    SWEEP = "runs.sweep"
    SANDBOX_DONE = "runs.sandbox_done"
    WEBHOOK_DELIVER = "webhooks.deliver"
    WEBHOOK_SWEEP = "webhooks.sweep"
    RETRIEVAL_INGEST = "retrieval.ingest"
    RETRIEVAL_SWEEP = "retrieval.sweep"
    BATCH_FEED = "batches.feed"
    FILES_SWEEP = "files.sweep"
    SANDBOX_EXECUTE = "sandbox.execute"
    SANDBOX_REAP = "sandbox.reap"


QUEUES: dict[str, str] = {
    Task.ADVANCE: "runs", Task.SWEEP: "maintenance", Task.SANDBOX_DONE: "runs",
    Task.WEBHOOK_DELIVER: "webhooks", Task.WEBHOOK_SWEEP: "maintenance",
    Task.RETRIEVAL_INGEST: "runs", Task.RETRIEVAL_SWEEP: "maintenance",
    Task.BATCH_FEED: "maintenance", Task.FILES_SWEEP: "maintenance",
    Task.SANDBOX_EXECUTE: "sandbox", Task.SANDBOX_REAP: "sandbox"}


ROUTE = "jobs.route"  # session.info key: task name -> queue, for this unit of work only


def route(session: Session, name: str, queue: str) -> None:
    """Send the `name` tasks this unit of work enqueues to `queue` (batch runs -> `batch`)."""
    session.info.setdefault(ROUTE, {})[name] = queue


def send(name: str, *args: Any, countdown: float | None = None,
         queue: str | None = None) -> None:
    """Publish a task now; a lost message is recovered by the sweeper from database state."""
    producer().send_task(name, args=list(args), queue=queue or QUEUES.get(name, "runs"),
                         countdown=broker.countdown(countdown))


def send_committed(name: str, *args: Any, countdown: float | None = None,
                   queue: str | None = None) -> None:
    """Publish the task of committed work; a broker outage is logged, not raised.

    The database already holds the work (a queued run, a pending delivery, a batch to feed),
    so the caller's request has succeeded: the sweepers re-send it from database state.
    """
    try:
        send(name, *args, countdown=countdown, queue=queue)
    except (KombuError, redis.RedisError, OSError) as exc:
        OUTAGE.failed(f"publish {name}", exc)
        return
    OUTAGE.succeeded()


def enqueue(session: Session, name: str, *args: Any, countdown: float | None = None) -> None:
    """Publish a task once the session's transaction has committed (see send_committed)."""
    queue = session.info.get(ROUTE, {}).get(name)
    after_commit(session, lambda: send_committed(name, *args, countdown=countdown, queue=queue))
