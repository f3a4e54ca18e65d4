"""The sweeper: recovers orphaned work from database state (the real crash recovery)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from orchestrator.broker import queue_depths
from orchestrator.config import get_settings
from orchestrator.engine.cas import cas
from orchestrator.engine.schedule import advance_later
from orchestrator.engine.status import RunStatus
from orchestrator.engine.terminal import expire
from orchestrator.models import EventRecord, RunRecord
from orchestrator.models.base import now
from orchestrator.streaming.relay import publish_outbox

BATCH = 500
RUN_QUEUES = ("runs", "batch")  # runs.advance goes to `batch` for the first step of batch runs


@dataclass
class SweepReport:
    """What one sweep did."""

    requeued: int = 0
    expired: int = 0
    republished: int = 0


def broker_backlog() -> int:
    """Messages waiting in the run queues (a Redis list's LLEN, a RabbitMQ queue's ready count).

    Messages reserved by workers are not counted: on Redis a dead worker's reservations only
    come back after the visibility timeout, so counting them would hide lost runs for that long.
    A live worker's few prefetched messages may thus be sent twice, which the claim makes
    harmless.
    """
    return sum(queue_depths(RUN_QUEUES))


def _touch_and_send(session: Session, runs: list[RunRecord], report: SweepReport) -> None:
    for run in runs:
        # The CAS bumps updated_at, so the same orphan is not re-sent on every sweep.
        if cas(session, run, {}):
            advance_later(session, run)
            report.requeued += 1


def _requeue(session: Session, report: SweepReport) -> None:
    s = get_settings()
    t = time.time()
    orphans = select(RunRecord).where(
        (
            (col(RunRecord.status) == RunStatus.IN_PROGRESS.value)
            & (col(RunRecord.lease_expires_at) < t)
            & (col(RunRecord.updated_at) < t - s.lease_seconds)
        )
        | (
            (col(RunRecord.status) == RunStatus.CANCELLING.value)
            & (col(RunRecord.updated_at) < t - 2 * s.sweep_interval)
        )
    ).limit(BATCH)
    _touch_and_send(session, list(session.exec(orphans).all()), report)
    # A queued run only lacks its message if the broker lost it (e.g. Redis restarted
    # without AOF; RabbitMQ's quorum queues keep theirs). With a long legitimate backlog,
    # re-sending every old queued run would flood the queue, so send at most as many as the
    # broker is missing.
    queued = session.exec(select(func.count()).select_from(RunRecord).where(
        col(RunRecord.status) == RunStatus.QUEUED.value)).one()
    missing = int(queued) - broker_backlog()
    if missing <= 0:
        return
    stale = select(RunRecord).where(
        col(RunRecord.status) == RunStatus.QUEUED.value,
        col(RunRecord.updated_at) < t - s.queued_stale_seconds,
    ).order_by(col(RunRecord.updated_at)).limit(min(missing, BATCH))
    _touch_and_send(session, list(session.exec(stale).all()), report)


def _expire(session: Session, report: SweepReport) -> None:
    overdue = select(RunRecord).where(
        col(RunRecord.status) == RunStatus.REQUIRES_ACTION.value,
        col(RunRecord.expires_at) < now(),
    ).limit(BATCH)
    for run in session.exec(overdue).all():
        if expire(session, run):
            report.expired += 1


def _expire_unfinished(session: Session, report: SweepReport) -> None:
    """Queued and in_progress runs past expires_at end `expired` too (as requires_action ones
    do in _expire): a backlog or a step that outlives the run's deadline."""
    overdue = select(RunRecord).where(
        col(RunRecord.status).in_([RunStatus.QUEUED.value, RunStatus.IN_PROGRESS.value]),
        col(RunRecord.expires_at) < now(),
    ).limit(BATCH)
    for run in session.exec(overdue).all():
        if expire(session, run):
            report.expired += 1


def _republish(session: Session, report: SweepReport) -> None:
    cutoff = now() - 2
    rows = session.exec(select(EventRecord).where(
        EventRecord.published == False,  # noqa: E712
        col(EventRecord.created_at) <= cutoff,
    ).order_by(col(EventRecord.seq)).limit(BATCH)).all()
    if rows:
        publish_outbox(rows)
        report.republished += len(rows)


def sweep(session: Session) -> SweepReport:
    """Re-enqueue orphaned runs, expire overdue ones, republish unpublished events."""
    report = SweepReport()
    _requeue(session, report)
    _expire(session, report)
    _expire_unfinished(session, report)
    _republish(session, report)
    return report
