"""request_counts from the database: runs of the batch by status, plus lines refused at feed."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from orchestrator.batches.status import FINAL, BatchStatus
from orchestrator.engine.status import ACTIVE, RunStatus
from orchestrator.models import BatchRecord, BatchRequestRecord, RunRecord

ACTIVE_VALUES = [s.value for s in ACTIVE]


def run_statuses(session: Session, batch_id: str) -> dict[str, int]:
    """How many of the batch's runs are in each status."""
    rows = session.exec(select(RunRecord.status, func.count()).join(
        BatchRequestRecord, col(BatchRequestRecord.run_id) == col(RunRecord.id)).where(
        BatchRequestRecord.batch_id == batch_id).group_by(RunRecord.status)).all()
    return {status: int(n) for status, n in rows}


def refused(session: Session, batch_id: str) -> int:
    """Lines the run service refused when they were fed (they never became runs)."""
    return int(session.exec(select(func.count()).select_from(BatchRequestRecord).where(
        BatchRequestRecord.batch_id == batch_id,
        col(BatchRequestRecord.error).is_not(None))).one())


def counts(session: Session, batch: BatchRecord) -> tuple[int, int]:
    """(completed, failed): completed runs; runs that ended otherwise, and refused lines."""
    if BatchStatus(batch.status) in FINAL:
        return batch.completed, batch.failed
    by_status = run_statuses(session, batch.id)
    completed = by_status.get(RunStatus.COMPLETED.value, 0)
    ended = sum(n for s, n in by_status.items() if s not in ACTIVE_VALUES)
    return completed, ended - completed + refused(session, batch.id)


def active_runs(session: Session, batch_id: str, limit: int) -> list[RunRecord]:
    """Runs of the batch that have not ended yet."""
    return list(session.exec(select(RunRecord).join(
        BatchRequestRecord, col(BatchRequestRecord.run_id) == col(RunRecord.id)).where(
        BatchRequestRecord.batch_id == batch_id,
        col(RunRecord.status).in_(ACTIVE_VALUES)).limit(limit)).all())


def tenant_in_flight(session: Session, tenant: str) -> int:
    """The tenant's runs waiting for or holding a worker (queued + in_progress)."""
    return int(session.exec(select(func.count()).select_from(RunRecord).where(
        col(RunRecord.status).in_([RunStatus.QUEUED.value, RunStatus.IN_PROGRESS.value]),
        RunRecord.tenant == tenant)).one())
