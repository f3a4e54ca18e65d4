"""Step latency for /metrics: each runs.advance that did work adds to Redis bucket counters.

Steps are counted in memory and added to Redis by one flusher thread every FLUSH_EVERY
seconds (one round trip per interval instead of one per step). A killed worker loses at most
that interval's counts: these are monitoring figures, not run data.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from typing import Any

from celery.signals import task_postrun, task_prerun

from orchestrator.metrics import STEP_BUCKETS, STEP_KEY, bucket_field
from orchestrator.redis_client import get_redis

log = logging.getLogger(__name__)
FLUSH_EVERY = 1.0  # seconds
_started: dict[str, float] = {}  # task id -> start (pool threads each run their own tasks)


class StepCounts:
    """Histogram increments not yet in Redis; a daemon thread adds them there."""

    def __init__(self) -> None:
        self._buckets: Counter[str] = Counter()
        self._sum = 0.0
        self._lock = threading.Lock()
        self._pid = 0

    def add(self, seconds: float) -> None:
        """Count one step in its bucket (starts this process's flusher on first use)."""
        le = next(b for b in STEP_BUCKETS if seconds <= b)
        with self._lock:
            if self._pid != os.getpid():  # first use, or first use after a fork
                self._pid = os.getpid()
                self._buckets, self._sum = Counter(), 0.0
                threading.Thread(target=self._loop, name="step-metrics", daemon=True).start()
            self._buckets[bucket_field(le)] += 1
            self._sum += seconds

    def flush(self) -> None:
        """Add what was counted to Redis now (kept for the next try if Redis fails)."""
        with self._lock:
            buckets, total = self._buckets, self._sum
            self._buckets, self._sum = Counter(), 0.0
        if not buckets:
            return
        try:
            pipe = get_redis().pipeline(transaction=False)
            for field, n in buckets.items():
                pipe.hincrby(STEP_KEY, field, n)
            pipe.hincrbyfloat(STEP_KEY, "sum", total)
            pipe.execute()
        except Exception:  # metrics must never fail a run; try again next time
            log.warning("could not record step latency", exc_info=True)
            with self._lock:
                self._buckets.update(buckets)
                self._sum += total

    def _loop(self) -> None:
        while True:
            time.sleep(FLUSH_EVERY)
            self.flush()


STEPS = StepCounts()


def record_step(seconds: float) -> None:
    """Count one step in its histogram bucket."""
    STEPS.add(seconds)


@task_prerun.connect
def _start(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    if task_id and getattr(task, "name", None) == "runs.advance":
        _started[task_id] = time.perf_counter()


@task_postrun.connect
def _stop(task_id: str | None = None, retval: Any = None, **_: Any) -> None:
    began = _started.pop(task_id or "", None)
    if began is None or retval == "nothing to do":  # a duplicate or early delivery: no step
        return
    record_step(time.perf_counter() - began)
