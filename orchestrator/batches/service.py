"""Batches, API side, face-neutral: create from plain values (every line checked), get, cancel."""

from __future__ import annotations

from sqlalchemy import insert
from sqlmodel import Session, select

from orchestrator import jobs
from orchestrator.batches.cas import move
from orchestrator.batches.lines import Line, find, handlers
from orchestrator.batches.parse import parse_file
from orchestrator.batches.status import CANCELLABLE, BatchStatus
from orchestrator.errors import InvalidRequest, NotFound
from orchestrator.ids import new_id
from orchestrator.jobs import Task
from orchestrator.models import BatchRecord, BatchRequestRecord, FileRecord
from orchestrator.models.base import now
from orchestrator.records import get_owned
from orchestrator.storage import get_store

WINDOWS = {"24h": 24 * 3600}
INSERT_CHUNK = 1000
CANCEL_TRIES = 20


def get(session: Session, tenant: str, batch_id: str) -> BatchRecord:
    """The tenant's batch, or 404."""
    try:
        return get_owned(session, BatchRecord, tenant, batch_id, "batch", param="batch_id")
    except NotFound:
        raise NotFound(f"No batch found with id '{batch_id}'.", param="batch_id") from None


def _served() -> str:
    """The endpoints batches may name, for the 400 on another one."""
    return ", ".join(f"'{h.endpoint}'" + (f" ({h.note})" if h.note else "") for h in handlers())


def create(session: Session, tenant: str, *, input_file_id: str, endpoint: str,
           completion_window: str, metadata: dict[str, str] | None) -> BatchRecord:
    """Validate the whole input file, then record the batch and its lines (nothing runs yet)."""
    served_by = find(endpoint)
    if served_by is None:
        raise InvalidRequest(f"Invalid 'endpoint': '{endpoint}'. This server runs batches"
                             f" of {_served()}.", param="endpoint")
    source = session.exec(select(FileRecord).where(
        FileRecord.id == input_file_id, FileRecord.tenant == tenant)).first()
    if source is None:
        raise InvalidRequest(f"No such File object: {input_file_id}", param="input_file_id")
    if source.purpose != "batch":
        raise InvalidRequest(f"File {source.id} has purpose '{source.purpose}'; a batch input"
                             " file must be uploaded with purpose 'batch'.",
                             param="input_file_id")
    created = now()
    batch = BatchRecord(
        id=new_id("batch"), tenant=tenant, created_at=created, endpoint=endpoint,
        input_file_id=source.id, completion_window=completion_window,
        status=BatchStatus.VALIDATING.value, meta=metadata,
        expires_at=created + WINDOWS[completion_window])
    session.add(batch)
    session.flush()

    def insert_lines(lines: list[Line]) -> None:
        rows = [{"batch_id": batch.id, "line": ln.line, "custom_id": ln.custom_id,
                 "thread_id": ln.thread_id, "body": ln.body} for ln in lines]
        # A refused line carries its error; the others leave the column SQL NULL (a None in
        # a JSON column would be stored as JSON null).
        for part in ([r for r, ln in zip(rows, lines, strict=True) if ln.error is None],
                     [{**r, "error": ln.error} for r, ln in zip(rows, lines, strict=True)
                      if ln.error is not None]):
            if part:
                session.connection().execute(insert(BatchRequestRecord), part)

    # Any bad line raises: the unit of work rolls back the batch and every line inserted.
    batch.total = parse_file(session, tenant, served_by, get_store().reader(source.storage_key),
                             insert_lines, INSERT_CHUNK)
    session.add(batch)
    session.flush()
    jobs.enqueue(session, Task.BATCH_FEED)
    return batch


def cancel(session: Session, tenant: str, batch_id: str) -> BatchRecord:
    """validating / in_progress -> cancelling; the feeder cancels the runs, then -> cancelled."""
    batch = get(session, tenant, batch_id)
    for _ in range(CANCEL_TRIES):  # the feeder bumps the version as it feeds: re-read, retry
        status = BatchStatus(batch.status)
        if status in (BatchStatus.CANCELLING, BatchStatus.CANCELLED):
            return batch
        if status not in CANCELLABLE:
            raise InvalidRequest(f"Cannot cancel a batch with status '{batch.status}'.")
        if move(session, batch, BatchStatus.CANCELLING, cancelling_at=now()):
            jobs.enqueue(session, Task.BATCH_FEED)
            return batch
        session.refresh(batch)
    raise InvalidRequest("The batch is changing too fast to cancel; try again.")
