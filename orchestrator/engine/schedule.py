"""The one way to schedule a run's next step: runs.advance, sent after the commit."""

from __future__ import annotations

from sqlmodel import Session

from orchestrator import jobs
from orchestrator.jobs import Task
from orchestrator.models import RunRecord


def advance_later(session: Session, run: RunRecord | str, countdown: float | None = None) -> None:
    """Send the run's next step once this unit of work commits (after `countdown` seconds)."""
    run_id = run if isinstance(run, str) else run.id
    jobs.enqueue(session, Task.ADVANCE, run_id, countdown=countdown)


def advance_in(session: Session, queue: str) -> None:
    """Send the steps this unit of work schedules to `queue` (batch runs -> `batch`)."""
    jobs.route(session, Task.ADVANCE, queue)
