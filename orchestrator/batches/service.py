"""Batches, API side: create (validate every line, record them), retrieve, cancel."""

from __future__ import annotations

from sqlalchemy import insert
from sqlmodel import Session

from orchestrator import jobs
from orchestrator.batches.cas import move
from orchestrator.batches.parse import ENDPOINT, Line, parse_file
from orchestrator.batches.status import CANCELLABLE, BatchStatus
from orchestrator.errors import InvalidRequest, NotFound
from orchestrator.faces.assistants.schemas.batch import CreateBatch
from orchestrator.faces.assistants.services import files
from orchestrator.faces.assistants.services.common import get_owned
from orchestrator.ids import new_id
from orchestrator.jobs import Task
from orchestrator.models import BatchRecord, BatchRequestRecord
from orchestrator.models.base import now
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


def create(session: Session, tenant: str, body: CreateBatch) -> BatchRecord:
    """Validate the whole input file, then record the batch and its lines (nothing runs yet)."""
    if body.endpoint != ENDPOINT:
        raise InvalidRequest(f"Invalid 'endpoint': '{body.endpoint}'. This server runs batches"
                             f" of '{ENDPOINT}' (lines may name '/v1/threads/{{thread_id}}/runs').",
                             param="endpoint")
    try:
        source = files.get(session, tenant, body.input_file_id)
    except NotFound:
        raise InvalidRequest(f"No such File object: {body.input_file_id}",
                             param="input_file_id") from None
    if source.purpose != "batch":
        raise InvalidRequest(f"File {source.id} has purpose '{source.purpose}'; a batch input"
                             " file must be uploaded with purpose 'batch'.",
                             param="input_file_id")
    created = now()
    batch = BatchRecord(
        id=new_id("batch"), tenant=tenant, created_at=created, endpoint=body.endpoint,
        input_file_id=source.id, completion_window=body.completion_window,
        status=BatchStatus.VALIDATING.value, meta=body.metadata,
        expires_at=created + WINDOWS[body.completion_window])
    session.add(batch)
    session.flush()

    def insert_lines(lines: list[Line]) -> None:
        session.connection().execute(insert(BatchRequestRecord), [
            {"batch_id": batch.id, "line": ln.line, "custom_id": ln.custom_id,
             "thread_id": ln.thread_id, "body": ln.body} for ln in lines])

    # Any bad line raises: the unit of work rolls back the batch and every line inserted.
    batch.total = parse_file(session, tenant, get_store().reader(source.storage_key),
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
