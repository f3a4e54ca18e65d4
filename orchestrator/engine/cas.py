"""Compare-and-set writes of runs: UPDATE … WHERE id AND status AND version."""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any

from sqlalchemy import Update, bindparam, inspect, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from orchestrator.engine.status import RunStatus
from orchestrator.engine.transitions import transition
from orchestrator.models import RunRecord

RUNS = RunRecord.__table__  # type: ignore[attr-defined]
# Attribute name -> column name (only `meta` differs: its column is "metadata").
COLUMNS = {attr.key: attr.columns[0].name for attr in inspect(RunRecord).column_attrs}


@lru_cache(maxsize=256)
def _statement(keys: tuple[str, ...], with_owner: bool) -> Update:
    """The CAS UPDATE writing `keys`, built once per shape: executions hit the compiled cache."""
    conditions = [RUNS.c.id == bindparam("w_id"), RUNS.c.status == bindparam("w_status"),
                  RUNS.c.version == bindparam("w_version")]
    if with_owner:
        conditions.append(RUNS.c.lease_owner == bindparam("w_owner"))
    values = {COLUMNS[k]: bindparam(f"v_{k}", type_=RUNS.c[COLUMNS[k]].type) for k in keys}
    return update(RUNS).where(*conditions).values(values)


def cas(session: Session, run: RunRecord, changes: dict[str, Any],
        owner: str | None = None) -> bool:
    """Write `changes` if the run is still at the status and version we read; False otherwise.

    With `owner`, the write also requires that we still hold the run's lease.
    """
    values = {**changes, "version": run.version + 1, "updated_at": time.time()}
    params = {f"v_{k}": v for k, v in values.items()}
    params.update(w_id=run.id, w_status=run.status, w_version=run.version)
    if owner is not None:
        params["w_owner"] = owner
    # A Core UPDATE on the table: none of the ORM's bulk-update bookkeeping on the hot path;
    # we set the attributes ourselves once the row really changed.
    stmt = _statement(tuple(sorted(values)), owner is not None)
    result = session.connection().execute(stmt, params)
    if result.rowcount != 1:
        return False
    for key, value in values.items():
        set_committed_value(run, key, value)  # already written: keep the ORM from writing again
    return True


def move(session: Session, run: RunRecord, target: RunStatus, owner: str | None = None,
         **changes: Any) -> RunStatus | None:
    """CAS the run to `target` (checked against the transition table); `target`, or None."""
    event = transition(RunStatus(run.status), target)
    if not cas(session, run, {"status": target.value, **changes}, owner):
        return None
    return event
