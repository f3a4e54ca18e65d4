"""The thread lock: while a run is active, no new run and no new message on its thread."""

from __future__ import annotations

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from orchestrator.engine.status import ACTIVE
from orchestrator.errors import InvalidRequest
from orchestrator.models import RunRecord

# Built once (the id only, no ORM object): executions hit the compiled cache without re-keying.
ACTIVE_RUN_ID = select(RunRecord.id).where(
    col(RunRecord.thread_id) == bindparam("thread_id"),
    col(RunRecord.status).in_([s.value for s in ACTIVE]),
).limit(1)


def active_run_id(session: Session, thread_id: str) -> str | None:
    """The id of the thread's active run, if any."""
    return session.exec(ACTIVE_RUN_ID, params={"thread_id": thread_id}).first()


def ensure_unlocked(session: Session, thread_id: str, *, for_run: bool) -> None:
    """OpenAI's 400s for a locked thread."""
    run_id = active_run_id(session, thread_id)
    if run_id is None:
        return
    if for_run:
        raise InvalidRequest(f"Thread {thread_id} already has an active run {run_id}.")
    raise InvalidRequest(f"Can't add messages to {thread_id} while a run {run_id} is active.")
