"""Send Celery tasks by NAME after the unit of work commits (dropped on rollback)."""

from __future__ import annotations

from typing import Any

import redis
from celery import Celery
from kombu.exceptions import KombuError
from sqlmodel import Session

from orchestrator.config import get_settings
from orchestrator.db import after_commit
from orchestrator.redis_client import OUTAGE
from orchestrator.shared import process_wide


@process_wide
def producer() -> Celery:
    """A Celery app used only to publish messages (the API never imports the workers)."""
    s = get_settings()
    app = Celery("orchestrator-producer", broker=s.redis_url)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": s.broker_visibility_timeout},
        task_ignore_result=True,
        broker_pool_limit=64,  # the worker's pool threads publish through this app too
    )
    return app


QUEUES = {"runs.advance": "runs", "runs.sweep": "maintenance",
          "webhooks.deliver": "webhooks", "webhooks.sweep": "maintenance",
          "retrieval.ingest": "runs", "retrieval.sweep": "maintenance",
          "batches.feed": "maintenance", "sandbox.execute": "sandbox"}


ROUTE = "jobs.route"  # session.info key: task name -> queue, for this unit of work only


def route(session: Session, name: str, queue: str) -> None:
    """Send the `name` tasks this unit of work enqueues to `queue` (batch runs -> `batch`)."""
    session.info.setdefault(ROUTE, {})[name] = queue


def send(name: str, *args: Any, countdown: float | None = None,
         queue: str | None = None) -> None:
    """Publish a task now; a lost message is recovered by the sweeper from database state."""
    producer().send_task(name, args=list(args), queue=queue or QUEUES.get(name, "runs"),
                         countdown=countdown)


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
