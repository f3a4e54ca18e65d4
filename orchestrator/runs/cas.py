"""Compare-and-set writes of runs: UPDATE … WHERE id AND status AND version."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import inspect, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from orchestrator.models import RunRecord
from orchestrator.runs.status import RunStatus
from orchestrator.runs.transitions import transition

RUNS = RunRecord.__table__  # type: ignore[attr-defined]
# Attribute name -> column name (only `meta` differs: its column is "metadata").
COLUMNS = {attr.key: attr.columns[0].name for attr in inspect(RunRecord).column_attrs}


def cas(session: Session, run: RunRecord, changes: dict[str, Any],
        owner: str | None = None) -> bool:
    """Write `changes` if the run is still at the status and version we read; False otherwise.

    With `owner`, the write also requires that we still hold the run's lease.
    """
    values = {**changes, "version": run.version + 1, "updated_at": time.time()}
    conditions: list[Any] = [RUNS.c.id == run.id, RUNS.c.status == run.status,
                             RUNS.c.version == run.version]
    if owner is not None:
        conditions.append(RUNS.c.lease_owner == owner)
    # A Core UPDATE on the table: none of the ORM's bulk-update bookkeeping on the hot path;
    # we set the attributes ourselves once the row really changed.
    stmt = update(RUNS).where(*conditions).values({COLUMNS[k]: v for k, v in values.items()})
    result = session.connection().execute(stmt)
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
