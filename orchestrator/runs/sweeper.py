"""The sweeper: recovers orphaned work from database state (the real crash recovery)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlmodel import Session, col, select

from orchestrator import jobs
from orchestrator.config import get_settings
from orchestrator.models import EventRecord, RunRecord
from orchestrator.models.base import now
from orchestrator.runs.cas import cas
from orchestrator.runs.execution import expire
from orchestrator.runs.status import RunStatus
from orchestrator.streaming import publish_outbox

BATCH = 500


@dataclass
class SweepReport:
    """What one sweep did."""

    requeued: int = 0
    expired: int = 0
    republished: int = 0


def _requeue(session: Session, report: SweepReport) -> None:
    s = get_settings()
    t = time.time()
    stale = select(RunRecord).where(
        (
            (col(RunRecord.status) == RunStatus.QUEUED.value)
            & (col(RunRecord.updated_at) < t - s.queued_stale_seconds)
        )
        | (
            (col(RunRecord.status) == RunStatus.IN_PROGRESS.value)
            & (col(RunRecord.lease_expires_at) < t)
            & (col(RunRecord.updated_at) < t - s.lease_seconds)
        )
        | (
            (col(RunRecord.status) == RunStatus.CANCELLING.value)
            & (col(RunRecord.updated_at) < t - 2 * s.sweep_interval)
        )
    ).limit(BATCH)
    for run in session.exec(stale).all():
        # Touch the row (CAS bumps updated_at) so the orphan is not re-sent on every sweep.
        if cas(session, run, {}):
            jobs.enqueue(session, "runs.advance", run.id)
            report.requeued += 1


def _expire(session: Session, report: SweepReport) -> None:
    overdue = select(RunRecord).where(
        col(RunRecord.status) == RunStatus.REQUIRES_ACTION.value,
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
    _republish(session, report)
    return report
