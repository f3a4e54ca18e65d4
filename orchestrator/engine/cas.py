"""Compare-and-set writes of runs: UPDATE … WHERE id AND status AND version.

The only module that writes a run's status: move() and move_id() check the edge, and that
their caller is a performer the transition table lists for it.
"""

from __future__ import annotations

import sys
import time
from functools import lru_cache
from types import CodeType, FrameType
from typing import Any

from sqlalchemy import Update, bindparam, inspect, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.selectable import ExecutableReturnsRows
from sqlmodel import Session, select

from orchestrator.engine import edge_log
from orchestrator.engine.status import RunStatus
from orchestrator.engine.transitions import check
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


_NAMES: dict[CodeType, str] = {}


def _performer(frame: FrameType) -> str:
    """The qualified name (module.function) of the function running in `frame`."""
    code = frame.f_code
    name = _NAMES.get(code)
    if name is None:
        name = _NAMES[code] = f"{frame.f_globals.get('__name__')}.{code.co_qualname}"
    return name


def move(session: Session, run: RunRecord, target: RunStatus, owner: str | None = None,
         **changes: Any) -> RunStatus | None:
    """CAS the run to `target` (an edge of the table, moved by a performer it lists for it);
    `target`, or None if the run changed meanwhile."""
    source = RunStatus(run.status)
    performer = _performer(sys._getframe(1))
    event = check(source, target, performer)
    if not cas(session, run, {"status": target.value, **changes}, owner):
        return None
    edge_log.record(source.value, target.value, performer)
    return event


@lru_cache(maxsize=16)
def _move_by_id(keys: tuple[str, ...]) -> ExecutableReturnsRows:
    """UPDATE … WHERE id AND status RETURNING the run, built once per shape."""
    values: dict[str, Any] = {
        COLUMNS[k]: bindparam(f"v_{k}", type_=RUNS.c[COLUMNS[k]].type) for k in keys}
    values["version"] = RUNS.c.version + 1
    return select(RunRecord).from_statement(update(RUNS).where(
        RUNS.c.id == bindparam("w_id"), RUNS.c.status == bindparam("w_status"),
    ).values(values).returning(*RUNS.c))


def move_id(session: Session, run_id: str, source: RunStatus, target: RunStatus,
            **changes: Any) -> RunRecord | None:
    """source -> target by id in one statement that returns the run, without reading it
    first (the claim of a queued run); None if the run is not at `source`."""
    performer = _performer(sys._getframe(1))
    check(source, target, performer)
    values = {**changes, "status": target.value, "updated_at": time.time()}
    params = {f"v_{k}": v for k, v in values.items()}
    params.update(w_id=run_id, w_status=source.value)
    run: RunRecord | None = session.scalars(_move_by_id(tuple(sorted(values))), params).first()
    if run is not None:
        edge_log.record(source.value, target.value, performer)
    return run
