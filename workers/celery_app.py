"""The Celery app: queues, reliability settings (DESIGN §3) and the beat schedule.

Run workers use Celery's threads pool (ORCH_WORKER_POOL, `orchestrator worker --pool`). A step is
seconds of waiting on the model and a few milliseconds of CPU, and the model client, psycopg and
redis-py all release the GIL while they wait, so one process holds one model call per thread.
Measured on the 2-core machine with a 1 s scripted model (bench/bench_batch.py, 1,000 questions):
one 200-thread process completes about 95 runs/s, where prefork with 2 children completes about 2
(one call per child); that process then uses about 0.75 of a core with the machine 30 % idle (its
Python runs under one GIL), so `orchestrator worker` runs one threads-pool process per CPU
(workers/processes.py): 100-115 runs/s. With an instant model the ratio to no-op tasks is close to
prefork's (bench/bench_runs.py: 0.203 vs 0.194). gevent was tried and measured slower (57 runs/s,
more CPU per run): it needs monkey-patching of psycopg, redis and httpx for no gain over threads
that mostly sleep in the kernel.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery
from celery.signals import after_setup_logger, worker_init, worker_process_init

from orchestrator import broker, wiring
from orchestrator.config import get_settings
from orchestrator.db import get_engine
from orchestrator.engine.model_client import default_client
from orchestrator.jobs import QUEUES as JOB_QUEUES
from orchestrator.jobs import Task
from orchestrator.redis_client import get_redis
from orchestrator.storage import get_store
from workers import broker_transport


def make_app() -> Celery:
    """Build the Celery app from Settings (with the faces plugged into the engine and batches)."""
    wiring.install()
    broker_transport.install()
    s = get_settings()
    app = Celery("orchestrator", include=[
        "workers.tasks.runs", "workers.tasks.webhooks", "workers.tasks.retrieval",
        "workers.tasks.batches", "workers.tasks.files", "workers.tasks.sandbox", "sandbox.tasks",
        "workers.metrics"])
    app.conf.update(
        task_default_queue="runs",
        task_routes={name: {"queue": queue} for name, queue in JOB_QUEUES.items()},
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        # A message is acknowledged only after its task ran; a killed pool child re-queues it.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        # Tasks publish follow-up tasks from many threads at once: one producer connection
        # per pool thread would be waste, ten would make them queue for a connection.
        broker_pool_limit=64,
        task_time_limit=s.task_time_limit,
        task_soft_time_limit=s.task_time_limit - 30,
        broker_connection_retry_on_startup=True,
        # Task events on demand: `orchestrator worker --task-events` (ORCH_WORKER_TASK_EVENTS)
        # or Flower's periodic enable_events broadcast; worker heartbeats are always sent.
        worker_send_task_events=s.worker_task_events,
        task_send_sent_event=s.worker_task_events,
        worker_soft_shutdown_timeout=10,
        worker_enable_soft_shutdown_on_idle=True,
        # Broker URL, queues and transport options: Redis or RabbitMQ (orchestrator/broker.py).
        **broker.celery_settings(),
        beat_schedule={
            Task.SWEEP: {"task": Task.SWEEP, "schedule": s.sweep_interval,
                         "options": {"queue": "maintenance", "expires": s.sweep_interval * 5}},
            Task.WEBHOOK_SWEEP: {"task": Task.WEBHOOK_SWEEP,
                                 "schedule": s.webhook_sweep_interval,
                                 "options": {"queue": "maintenance",
                                             "expires": s.webhook_sweep_interval * 5}},
            Task.RETRIEVAL_SWEEP: {"task": Task.RETRIEVAL_SWEEP,
                                   "schedule": max(s.sweep_interval,
                                                   s.retrieval_requeue_seconds / 4),
                                   "options": {"queue": "maintenance"}},
            Task.BATCH_FEED: {"task": Task.BATCH_FEED, "schedule": s.batch_feed_interval,
                              "options": {"queue": "maintenance",
                                          "expires": s.batch_feed_interval * 5}},
            Task.FILES_SWEEP: {"task": Task.FILES_SWEEP, "schedule": s.file_sweep_interval,
                               "options": {"queue": "maintenance",
                                           "expires": s.file_sweep_interval * 5}},
        },
    )
    return app


app = make_app()


@after_setup_logger.connect
def _quiet_http_logs(**_: Any) -> None:
    """One INFO line per model request (httpx's) costs more than it tells; keep warnings."""
    for name in ("httpx", "httpx2", "httpcore", "openai"):
        logging.getLogger(name).setLevel(logging.WARNING)


@worker_process_init.connect
def _fresh_connections(**_: Any) -> None:
    """A forked pool child must not share its parent's database, Redis or storage connections."""
    get_engine.cache_clear()
    get_redis.cache_clear()
    get_store.cache_clear()


RUN_QUEUES = frozenset({"runs", "batch"})  # where runs' steps wait (`batch`: batch runs' first)


@worker_init.connect
def _warm_model_client(sender: Any = None, **_: Any) -> None:
    """A worker that takes runs builds its model client before its first task.

    Built lazily, the client's imports and HTTP pools (about 0.6 s on an idle 2-core machine)
    were paid by the first runs after a start, every pool thread waiting on its lock. A
    prefork child inherits the built client, which holds no connection yet. A client that
    cannot be built now is tried again by the first run, which reports what went wrong.
    """
    consumed = set(sender.app.amqp.queues.consume_from or ()) if sender is not None else set()
    if consumed and not RUN_QUEUES & consumed:  # no -Q: every queue
        return
    try:
        default_client()
    except Exception:  # the worker still starts; the first run reports it
        logging.getLogger(__name__).warning("model client not built at start", exc_info=True)


@worker_init.connect
def _declare_queues(**_: Any) -> None:
    """RabbitMQ: every queue exists before Celery binds them for delayed delivery."""
    broker.declare_queues(app)
