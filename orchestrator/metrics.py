"""Prometheus metrics of the whole deployment, computed at scrape time from shared state.

Workers are separate processes, so nothing is counted in the API's memory: run and batch
gauges come from the database (grouped counts), queue depths from the broker (LLEN of each
Celery queue on Redis, the ready count on RabbitMQ), and the step latency histogram from bucket
counters the workers keep in Redis (workers/metrics.py writes them; STEP_BUCKETS and STEP_KEY
are shared).

Each source is read on its own: while one is down the scrape still carries the others'
families, and `orch_database_up` / `orch_broker_up` / `orch_redis_up` say which are missing.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry
from redis import RedisError
from sqlalchemy import func
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from orchestrator.batches.counts import counts
from orchestrator.batches.status import LIVE
from orchestrator.broker import QUEUES, BrokerUnavailable, queue_depths
from orchestrator.db import get_engine
from orchestrator.engine.status import RunStatus
from orchestrator.models import BatchRecord, RunRecord
from orchestrator.redis_client import get_redis

STEP_KEY = "orch:metrics:step_seconds"
STEP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
                120.0, math.inf)
LIVE_BATCHES_SCANNED = 100
log = logging.getLogger(__name__)


def bucket_field(le: float) -> str:
    """The Redis hash field of a bucket's (non-cumulative) count."""
    return "+Inf" if math.isinf(le) else repr(le)


class DeploymentCollector(Collector):
    """Runs, batches, queues and step latency, read fresh on every scrape."""

    def collect(self) -> Iterator[Metric]:
        """Yield every metric family of each source that answers, and an `up` gauge a source."""
        try:
            with Session(get_engine()) as session:
                from_database = [self._runs(session), *self._batches(session)]
        except SQLAlchemyError as exc:
            log.warning("metrics: database unreachable (%s)", type(exc).__name__)
            from_database = []
        yield _up("orch_database_up", "1 if the database answered this scrape.", from_database)
        yield from from_database
        try:
            from_broker = [self._queues()]
        except BrokerUnavailable as exc:
            log.warning("metrics: broker unreachable (%s)", exc)
            from_broker = []
        yield _up("orch_broker_up", "1 if the Celery broker answered this scrape (queue depths"
                  " come from it).", from_broker)
        yield from from_broker
        try:
            from_redis = [self._steps()]
        except RedisError as exc:
            log.warning("metrics: Redis unreachable (%s)", type(exc).__name__)
            from_redis = []
        yield _up("orch_redis_up", "1 if Redis answered this scrape (step latency comes from"
                  " it).", from_redis)
        yield from from_redis

    @staticmethod
    def _runs(session: Session) -> Metric:
        g = GaugeMetricFamily("orch_runs", "Runs by status.", labels=["status"])
        rows = dict(session.exec(select(RunRecord.status, func.count()).group_by(
            RunRecord.status)).all())
        for status in RunStatus:
            g.add_metric([status.value], float(rows.get(status.value, 0)))
        return g

    @staticmethod
    def _batches(session: Session) -> Iterator[Metric]:
        by_status = GaugeMetricFamily("orch_batches", "Batches by status.", labels=["status"])
        rows = dict(session.exec(select(BatchRecord.status, func.count()).group_by(
            BatchRecord.status)).all())
        for status in sorted({*rows, *(s.value for s in LIVE)}):
            by_status.add_metric([status], float(rows.get(status, 0)))
        yield by_status
        live = session.exec(select(BatchRecord).where(
            col(BatchRecord.status).in_([s.value for s in LIVE])).order_by(
            col(BatchRecord.seq)).limit(LIVE_BATCHES_SCANNED)).all()
        total = done = failed = 0
        for batch in live:
            ok, bad = counts(session, batch)
            total, done, failed = total + batch.total, done + ok, failed + bad
        g = GaugeMetricFamily("orch_batch_requests",
                              "Requests of live (unfinished) batches, by state.",
                              labels=["state"])
        g.add_metric(["total"], float(total))
        g.add_metric(["completed"], float(done))
        g.add_metric(["failed"], float(failed))
        g.add_metric(["pending"], float(total - done - failed))
        yield g

    @staticmethod
    def _queues() -> Metric:
        g = GaugeMetricFamily("orch_queue_depth", "Messages waiting in each Celery queue.",
                              labels=["queue"])
        for name, depth in zip(QUEUES, queue_depths(QUEUES), strict=True):
            g.add_metric([name], float(depth))
        return g

    @staticmethod
    def _steps() -> Metric:
        raw = {k.decode() if isinstance(k, bytes) else k: float(v)
               for k, v in get_redis().hgetall(STEP_KEY).items()}
        cumulative, buckets = 0.0, []
        for le in STEP_BUCKETS:
            cumulative += raw.get(bucket_field(le), 0.0)
            buckets.append(("+Inf" if math.isinf(le) else str(le), cumulative))
        h = HistogramMetricFamily("orch_run_step_seconds",
                                  "Time workers spent on one step of a run (runs.advance).")
        h.add_metric([], buckets, sum_value=raw.get("sum", 0.0))
        return h


def _up(name: str, documentation: str, families: list[Metric]) -> Metric:
    return GaugeMetricFamily(name, documentation, value=1.0 if families else 0.0)


def registry() -> CollectorRegistry:
    """A registry holding only the deployment collector."""
    reg = CollectorRegistry(auto_describe=False)
    reg.register(DeploymentCollector())
    return reg
