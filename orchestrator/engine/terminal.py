"""Moves that end a run (failed, cancelled, expired, incomplete) and close its open steps."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from orchestrator.engine.cas import move
from orchestrator.engine.events import RunChanged, StepChanged, emit
from orchestrator.engine.status import RunStatus, StepStatus
from orchestrator.models import RunRecord, RunStepRecord
from orchestrator.models.base import now

LOAD = select(RunRecord).where(col(RunRecord.id) == bindparam("run_id"))


def load(session: Session, run_id: str) -> RunRecord | None:
    """The run by id (workers act across tenants)."""
    return session.exec(LOAD, params={"run_id": run_id}).first()


def _close_steps(session: Session, run: RunRecord, status: StepStatus, at_field: str,
                 error: dict[str, Any] | None = None) -> None:
    steps = session.exec(select(RunStepRecord).where(
        RunStepRecord.run_id == run.id,
        RunStepRecord.status == StepStatus.IN_PROGRESS.value)).all()
    for step in steps:
        step.status = status.value
        setattr(step, at_field, now())
        step.last_error = error
        session.add(step)
        emit(session, StepChanged(run, step, status))


def finish_cancel(session: Session, run: RunRecord) -> bool:
    """cancelling -> cancelled, closing open steps."""
    event = move(session, run, RunStatus.CANCELLED, cancelled_at=now(), required_action=None,
                 lease_owner=None, lease_expires_at=None)
    if event is None:
        return False
    _close_steps(session, run, StepStatus.CANCELLED, "cancelled_at")
    emit(session, RunChanged(run, event))
    return True


def expire(session: Session, run: RunRecord) -> bool:
    """queued / in_progress / requires_action past expires_at -> expired; the lease goes, so
    a worker still holding the run fails its compare-and-set and drops its work."""
    event = move(session, run, RunStatus.EXPIRED, required_action=None, lease_owner=None,
                 lease_expires_at=None)
    if event is None:
        return False
    _close_steps(session, run, StepStatus.EXPIRED, "expired_at")
    emit(session, RunChanged(run, event))
    return True


def fail(session: Session, run: RunRecord, code: str, message: str,
         owner: str | None = None) -> bool:
    """Any active status -> failed with last_error."""
    error = {"code": code, "message": message}
    event = move(session, run, RunStatus.FAILED, owner, failed_at=now(), last_error=error,
                 required_action=None, lease_owner=None, lease_expires_at=None)
    if event is None:
        return False
    _close_steps(session, run, StepStatus.FAILED, "failed_at",
                 {"code": "rate_limit_exceeded" if code == "rate_limit_exceeded"
                  else "server_error", "message": message})
    emit(session, RunChanged(run, event))
    return True


def mark_incomplete(session: Session, run: RunRecord, reason: str, owner: str) -> bool:
    """in_progress -> incomplete with incomplete_details."""
    event = move(session, run, RunStatus.INCOMPLETE, owner,
                 incomplete_details={"reason": reason}, lease_owner=None,
                 lease_expires_at=None)
    if event is None:
        return False
    emit(session, RunChanged(run, event))
    return True


