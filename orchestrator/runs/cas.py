"""Compare-and-set writes of runs: UPDATE … WHERE id AND status AND version."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col

from orchestrator.models import RunRecord
from orchestrator.runs.status import RunStatus
from orchestrator.runs.transitions import transition


def cas(session: Session, run: RunRecord, changes: dict[str, Any],
        owner: str | None = None) -> bool:
    """Write `changes` if the run is still at the status and version we read; False otherwise.

    With `owner`, the write also requires that we still hold the run's lease.
    """
    values = {**changes, "version": run.version + 1, "updated_at": time.time()}
    conditions: list[Any] = [col(RunRecord.id) == run.id, col(RunRecord.status) == run.status,
                             col(RunRecord.version) == run.version]
    if owner is not None:
        conditions.append(col(RunRecord.lease_owner) == owner)
    # Core-style UPDATE: no ORM session synchronisation, we set the attributes ourselves.
    stmt = update(RunRecord).where(*conditions).values(**values).execution_options(
        synchronize_session=False)
    result = session.exec(stmt)
    if result.rowcount != 1:
        return False
    for key, value in values.items():
        set_committed_value(run, key, value)  # already written: keep the ORM from writing again
    return True


def move(session: Session, run: RunRecord, target: RunStatus, owner: str | None = None,
         **changes: Any) -> str | None:
    """CAS the run to `target` (checked against the transition table); the event name or None."""
    event = transition(RunStatus(run.status), target)
    if not cas(session, run, {"status": target.value, **changes}, owner):
        return None
    return event
