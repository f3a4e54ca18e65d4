"""Send Celery tasks by NAME after the unit of work commits (dropped on rollback)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from celery import Celery
from sqlmodel import Session

from orchestrator.config import get_settings
from orchestrator.db import after_commit


@lru_cache(maxsize=1)
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
    )
    return app


QUEUES = {"runs.advance": "runs", "runs.sweep": "maintenance"}
QUEUES["sandbox.execute"] = "sandbox"


def send(name: str, *args: Any, countdown: float | None = None) -> None:
    """Publish a task now; a lost message is recovered by the sweeper from database state."""
    producer().send_task(name, args=list(args), queue=QUEUES.get(name, "runs"),
                         countdown=countdown)


def enqueue(session: Session, name: str, *args: Any, countdown: float | None = None) -> None:
    """Publish a task once the session's transaction has committed."""
    after_commit(session, lambda: send(name, *args, countdown=countdown))
