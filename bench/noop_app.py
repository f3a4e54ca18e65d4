"""The Celery baseline for bench.bench_runs: our worker settings, one task that does nothing.

Every setting `workers.celery_app.make_app()` changes from Celery's defaults (broker, acks_late,
reject_on_worker_lost, prefetch 1, time limits, transport options, task events, soft shutdown…)
is copied onto a fresh app; only what names our own tasks and queues is left out. The one task,
`bench.noop`, INCRs a Redis counter so the sender can tell when all of them ran.

    celery -A bench.noop_app worker -Q bench.noop --concurrency W -E --loglevel info
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from kombu import Queue

from workers.celery_app import make_app

QUEUE = "bench.noop"
# What names our tasks, queues and schedule; everything else is copied as is.
NOT_COPIED = {"include", "imports", "beat_schedule", "task_queues", "task_routes",
              "task_default_queue"}


def copied_settings() -> dict[str, Any]:
    """Our app's settings that differ from Celery's defaults, minus task/queue naming."""
    ours = make_app().conf
    defaults = Celery("defaults").conf
    return {k: v for k, v in ours.items() if k not in NOT_COPIED and defaults.get(k) != v}


app = Celery("bench-noop")
app.conf.update(copied_settings(), task_queues=[Queue(QUEUE)], task_default_queue=QUEUE)


@app.task(name="bench.noop", queue=QUEUE)
def noop(key: str) -> None:
    """Count one execution in Redis."""
    from orchestrator.redis_client import get_redis  # per process: reset after fork

    get_redis().incr(key)
