"""The thread lock: while a run is active, no new run and no new message on its thread."""

from __future__ import annotations

from sqlmodel import Session, col, select

from orchestrator.engine.status import ACTIVE
from orchestrator.errors import InvalidRequest
from orchestrator.models import RunRecord


def active_run(session: Session, thread_id: str) -> RunRecord | None:
    """The thread's active run, if any."""
    return session.exec(select(RunRecord).where(
        RunRecord.thread_id == thread_id,
        col(RunRecord.status).in_([s.value for s in ACTIVE]),
    )).first()


def ensure_unlocked(session: Session, thread_id: str, *, for_run: bool) -> None:
    """OpenAI's 400s for a locked thread."""
    run = active_run(session, thread_id)
    if run is None:
        return
    if for_run:
        raise InvalidRequest(f"Thread {thread_id} already has an active run {run.id}.")
    raise InvalidRequest(f"Can't add messages to {thread_id} while a run {run.id} is active.")
