"""Step latency for /metrics: each runs.advance that did work adds to Redis bucket counters.

Steps are counted in memory and added to Redis by one flusher thread every FLUSH_EVERY
seconds (one round trip per interval instead of one per step). A killed worker loses at most
that interval's counts: these are monitoring figures, not run data.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from celery.signals import task_postrun, task_prerun

from orchestrator.buffered import Buffered
from orchestrator.jobs import Task
from orchestrator.metrics import STEP_BUCKETS, STEP_KEY, bucket_field
from orchestrator.redis_client import get_redis

FLUSH_EVERY = 1.0  # seconds
_started: dict[str, float] = {}  # task id -> start (pool threads each run their own tasks)


def _add_to_redis(seconds: list[float]) -> None:
    """Add the steps' bucket counts and their sum to the Redis histogram in one round trip."""
    buckets: Counter[str] = Counter(
        bucket_field(next(b for b in STEP_BUCKETS if s <= b)) for s in seconds)
    pipe = get_redis().pipeline(transaction=False)
    for field, n in buckets.items():
        pipe.hincrby(STEP_KEY, field, n)
    pipe.hincrbyfloat(STEP_KEY, "sum", sum(seconds))
    pipe.execute()


# Metrics must never fail a run: a failed write is kept for the next try.
STEPS: Buffered[float] = Buffered("step-metrics", FLUSH_EVERY, _add_to_redis, retry=True)


def record_step(seconds: float) -> None:
    """Count one step in its histogram bucket."""
    STEPS.add([seconds])


@task_prerun.connect
def _start(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    if task_id and getattr(task, "name", None) == Task.ADVANCE:
        _started[task_id] = time.perf_counter()


@task_postrun.connect
def _stop(task_id: str | None = None, retval: Any = None, **_: Any) -> None:
    began = _started.pop(task_id or "", None)
    if began is None or retval == "nothing to do":  # a duplicate or early delivery: no step
        return
    record_step(time.perf_counter() - began)
