"""What a client asks of a run, face-neutral: start it, cancel it, give it tool outputs.

A face validates the request in its own wire shapes, then calls these; each records the move,
emits its domain events and schedules the next step, all in the caller's transaction.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from orchestrator.db import insert
from orchestrator.engine.cas import move
from orchestrator.engine.events import CREATED, RunChanged, StepChanged, emit
from orchestrator.engine.lock import active_run_id
from orchestrator.engine.schedule import advance_later
from orchestrator.engine.status import RunStatus, StepStatus
from orchestrator.errors import InvalidRequest
from orchestrator.models import RunRecord, RunStepRecord
from orchestrator.models.base import now


def insert_queued(session: Session, run: RunRecord) -> None:
    """Write a new queued run; a thread that already has an active run refuses it (400).

    The partial unique index on active runs is the thread lock: no check beforehand, and no
    savepoint, since a refused run fails the whole request (nothing to keep). A Core INSERT:
    the run is only written here; later changes are compare-and-sets.
    """
    try:
        insert(session, run)
    except IntegrityError:
        session.rollback()
        current = active_run_id(session, run.thread_id)
        raise InvalidRequest(
            f"Thread {run.thread_id} already has an active run"
            f"{' ' + current if current else ''}.") from None


def announce(session: Session, run: RunRecord) -> None:
    """The inserted run's created and queued events, and its first step scheduled."""
    emit(session, RunChanged(run, CREATED))
    emit(session, RunChanged(run, RunStatus.QUEUED))
    advance_later(session, run)


def request_cancel(session: Session, run: RunRecord) -> bool:
    """An active run -> cancelling (a worker finishes it); False if the run changed under us."""
    event = move(session, run, RunStatus.CANCELLING)
    if event is None:
        return False
    emit(session, RunChanged(run, event))
    advance_later(session, run)
    return True


def accept_outputs(session: Session, run: RunRecord, step: RunStepRecord,
                   outputs: dict[str, str]) -> bool:
    """requires_action -> queued with every function call's output in its step; False if the
    run changed under us."""
    event = move(session, run, RunStatus.QUEUED, required_action=None)
    if event is None:
        return False
    calls = []
    for call in step.step_details.get("tool_calls", []):
        if call.get("type") == "function" and call["id"] in outputs:
            call = {**call, "function": {**call["function"], "output": outputs[call["id"]]}}
        calls.append(call)
    step.step_details = {"type": "tool_calls", "tool_calls": calls}
    step.status = StepStatus.COMPLETED.value
    step.completed_at = now()
    session.add(step)
    session.flush()
    emit(session, StepChanged(run, step, StepStatus.COMPLETED))
    emit(session, RunChanged(run, event))
    advance_later(session, run)
    return True
