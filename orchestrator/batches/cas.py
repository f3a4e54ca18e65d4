"""Compare-and-set writes of batches: UPDATE … WHERE id AND status AND version."""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from orchestrator.batches.status import BatchStatus
from orchestrator.models import BatchRecord

BATCHES = BatchRecord.__table__  # type: ignore[attr-defined]
COLUMNS = {attr.key: attr.columns[0].name for attr in inspect(BatchRecord).column_attrs}


def cas(session: Session, batch: BatchRecord, **changes: Any) -> bool:
    """Write `changes` if the batch is still at the status and version we read."""
    values = {**changes, "version": batch.version + 1}
    stmt = update(BATCHES).where(
        BATCHES.c.id == batch.id, BATCHES.c.status == batch.status,
        BATCHES.c.version == batch.version,
    ).values({COLUMNS[k]: v for k, v in values.items()})
    if session.connection().execute(stmt).rowcount != 1:
        return False
    for key, value in values.items():
        set_committed_value(batch, key, value)
    return True


def move(session: Session, batch: BatchRecord, target: BatchStatus, **changes: Any) -> bool:
    """CAS the batch to `target`."""
    return cas(session, batch, status=target.value, **changes)
