"""Step latency for /metrics: each runs.advance that did work adds to Redis bucket counters."""

from __future__ import annotations

import logging
import time
from typing import Any

from celery.signals import task_postrun, task_prerun

from orchestrator.metrics import STEP_BUCKETS, STEP_KEY, bucket_field
from orchestrator.redis_client import get_redis

log = logging.getLogger(__name__)
_started: dict[str, float] = {}  # task id -> start (pool threads each run their own tasks)


def record_step(seconds: float) -> None:
    """Count one step in its histogram bucket (one round trip)."""
    le = next(b for b in STEP_BUCKETS if seconds <= b)
    pipe = get_redis().pipeline(transaction=False)
    pipe.hincrby(STEP_KEY, bucket_field(le), 1)
    pipe.hincrbyfloat(STEP_KEY, "sum", seconds)
    pipe.execute()


@task_prerun.connect
def _start(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    if task_id and getattr(task, "name", None) == "runs.advance":
        _started[task_id] = time.perf_counter()


@task_postrun.connect
def _stop(task_id: str | None = None, retval: Any = None, **_: Any) -> None:
    began = _started.pop(task_id or "", None)
    if began is None or retval == "nothing to do":  # a duplicate or early delivery: no step
        return
    try:
        record_step(time.perf_counter() - began)
    except Exception:  # metrics must never fail a run
        log.warning("could not record step latency", exc_info=True)
