"""Vector stores: create / modify / delete, their files and batches, search, file counts."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select
from sqlmodel import delete as sql_delete

from orchestrator import jobs
from orchestrator.errors import InvalidRequest, not_found
from orchestrator.faces.assistants.schemas.common import ChunkingStrategy
from orchestrator.faces.assistants.schemas.vector_store import (
    CreateFileBatch,
    CreateVectorStore,
    ExpiresAfter,
    FileCounts,
    ModifyVectorStore,
)
from orchestrator.faces.assistants.services.common import get_owned
from orchestrator.faces.assistants.services.files import require_files
from orchestrator.ids import new_id
from orchestrator.jobs import Task
from orchestrator.models import (
    VectorStoreFileBatchRecord,
    VectorStoreFileRecord,
    VectorStoreRecord,
)
from orchestrator.models.base import now
from orchestrator.retrieval.chunking import AUTO_MAX_TOKENS, AUTO_OVERLAP_TOKENS
from orchestrator.retrieval.index import drop_chunks

DAY = 86_400


def get(session: Session, tenant: str, store_id: str, param: str | None = None
        ) -> VectorStoreRecord:
    """The tenant's (visible) vector store, or 404."""
    rec = get_owned(session, VectorStoreRecord, tenant, store_id, "vector store", param)
    if rec.internal:
        raise not_found("vector store", store_id, param)
    return rec


def strategy_of(body: ChunkingStrategy | None) -> dict[str, Any]:
    """The stored (and shown) strategy: auto is static 800 / 400, as OpenAI reports it."""
    if body is not None and body.type == "static" and body.static is not None:
        return {"type": "static", "static": body.static.model_dump()}
    return {"type": "static", "static": {"max_chunk_size_tokens": AUTO_MAX_TOKENS,
                                         "chunk_overlap_tokens": AUTO_OVERLAP_TOKENS}}


def _set_expiry(rec: VectorStoreRecord, expires_after: ExpiresAfter | None) -> None:
    rec.expires_after = expires_after.model_dump() if expires_after else None
    anchor = rec.last_active_at or rec.created_at
    rec.expires_at = anchor + expires_after.days * DAY if expires_after else None


def touch(session: Session, rec: VectorStoreRecord) -> None:
    """Mark the store active now (pushing out its expiry)."""
    rec.last_active_at = now()
    if rec.expires_after:
        rec.expires_at = rec.last_active_at + int(rec.expires_after["days"]) * DAY
    session.add(rec)


def touch_ids(session: Session, store_ids: Sequence[str]) -> None:
    """Mark stores active now (a run searched them), pushing out their expiry."""
    for rec in session.exec(select(VectorStoreRecord).where(
            col(VectorStoreRecord.id).in_(list(store_ids)))).all():
        touch(session, rec)


def expired(rec: VectorStoreRecord) -> bool:
    """Whether the store's expiry has passed."""
    return rec.expires_at is not None and rec.expires_at <= now()


def new_store(session: Session, tenant: str, *, name: str = "",
              expires_after: ExpiresAfter | None = None, metadata: dict[str, str] | None = None,
              internal: bool = False, store_id: str | None = None) -> VectorStoreRecord:
    """Record an empty store."""
    rec = VectorStoreRecord(id=store_id or new_id("vector_store"), tenant=tenant, name=name,
                            internal=internal, meta=metadata)
    rec.last_active_at = rec.created_at
    _set_expiry(rec, expires_after)
    session.add(rec)
    session.flush()
    return rec


def create(session: Session, tenant: str, body: CreateVectorStore) -> VectorStoreRecord:
    """POST /vector_stores: the store, and its files queued for indexing."""
    require_files(session, tenant, body.file_ids or [], "file_ids")
    rec = new_store(session, tenant, name=body.name or "", expires_after=body.expires_after,
                    metadata=body.metadata)
    strategy = strategy_of(body.chunking_strategy)
    for file_id in dict.fromkeys(body.file_ids or []):
        add_file(session, rec, file_id, strategy)
    return rec


def modify(session: Session, tenant: str, store_id: str, body: ModifyVectorStore
           ) -> VectorStoreRecord:
    """Change the fields the request sent."""
    rec = get(session, tenant, store_id)
    sent = body.model_fields_set
    if "name" in sent:
        rec.name = body.name or ""
    if "metadata" in sent:
        rec.meta = body.metadata
    if "expires_after" in sent:
        _set_expiry(rec, body.expires_after)
    session.add(rec)
    session.flush()
    return rec


def delete(session: Session, tenant: str, store_id: str) -> None:
    """Remove the store, its file rows, batches and chunks (the files themselves stay)."""
    rec = get(session, tenant, store_id)
    # File rows first: on PostgreSQL this waits for an ingestion mid-commit, whose chunks the
    # next statement then sees and removes.
    session.exec(sql_delete(VectorStoreFileRecord).where(
        col(VectorStoreFileRecord.vector_store_id) == rec.id))
    drop_chunks(session, rec.id)
    session.exec(sql_delete(VectorStoreFileBatchRecord).where(
        col(VectorStoreFileBatchRecord.vector_store_id) == rec.id))
    session.delete(rec)
    session.flush()


def counts(session: Session, store_id: str, batch_id: str | None = None) -> FileCounts:
    """File counts by status, straight from the file rows."""
    stmt = select(VectorStoreFileRecord.status, func.count()).where(
        VectorStoreFileRecord.vector_store_id == store_id)
    if batch_id is not None:
        stmt = stmt.where(VectorStoreFileRecord.batch_id == batch_id)
    by_status = dict(session.exec(stmt.group_by(col(VectorStoreFileRecord.status))).all())
    return FileCounts(**{k: int(v) for k, v in by_status.items()},
                      total=int(sum(by_status.values())))


def usage_bytes(session: Session, store_id: str) -> int:
    """Bytes of indexed text in the store."""
    total = session.exec(select(func.sum(VectorStoreFileRecord.usage_bytes)).where(
        VectorStoreFileRecord.vector_store_id == store_id)).first()
    return int(total or 0)


def add_file(session: Session, store: VectorStoreRecord, file_id: str,
             strategy: dict[str, Any], attributes: dict[str, Any] | None = None,
             batch_id: str | None = None) -> VectorStoreFileRecord:
    """Queue a file for indexing in the store; a file already there is queued again."""
    row = session.exec(select(VectorStoreFileRecord).where(
        VectorStoreFileRecord.vector_store_id == store.id,
        VectorStoreFileRecord.id == file_id)).first()
    if row is None:
        row = VectorStoreFileRecord(id=file_id, tenant=store.tenant, vector_store_id=store.id)
    row.status, row.last_error, row.batch_id = "in_progress", None, batch_id
    row.chunking_strategy, row.attributes = strategy, attributes
    row.version += 1
    row.updated_at = time.time()
    session.add(row)
    session.flush()
    jobs.enqueue(session, Task.RETRIEVAL_INGEST, store.id, file_id)
    return row


def create_file(session: Session, tenant: str, store_id: str, file_id: str,
                chunking: ChunkingStrategy | None, attributes: dict[str, Any] | None
                ) -> VectorStoreFileRecord:
    """POST /vector_stores/{id}/files."""
    store = get(session, tenant, store_id)
    require_files(session, tenant, [file_id], "file_id")
    return add_file(session, store, file_id, strategy_of(chunking), attributes)


def get_file(session: Session, tenant: str, store_id: str, file_id: str
             ) -> VectorStoreFileRecord:
    """A file of the tenant's store, or 404."""
    store = get(session, tenant, store_id)
    row = session.exec(select(VectorStoreFileRecord).where(
        VectorStoreFileRecord.vector_store_id == store.id,
        VectorStoreFileRecord.id == file_id)).first()
    if row is None:
        raise not_found("vector store file", file_id)
    return row


def update_file(session: Session, tenant: str, store_id: str, file_id: str,
                attributes: dict[str, Any] | None) -> VectorStoreFileRecord:
    """Replace a file's attributes."""
    row = get_file(session, tenant, store_id, file_id)
    row.attributes = attributes
    session.add(row)
    session.flush()
    return row


def delete_file(session: Session, tenant: str, store_id: str, file_id: str) -> None:
    """Take the file out of the store (its chunks too); an ingestion in flight drops its work."""
    row = get_file(session, tenant, store_id, file_id)
    session.delete(row)
    session.flush()  # the row first (see delete)
    drop_chunks(session, store_id, file_id)


def file_scope(session: Session, tenant: str, store_id: str, status: str | None,
               batch_id: str | None = None) -> list[Any]:
    """Filters of a store's (or batch's) file list."""
    get(session, tenant, store_id)
    scope: list[Any] = [VectorStoreFileRecord.vector_store_id == store_id]
    if batch_id is not None:
        scope.append(VectorStoreFileRecord.batch_id == batch_id)
    if status is not None:
        scope.append(VectorStoreFileRecord.status == status)
    return scope


def create_batch(session: Session, tenant: str, store_id: str, body: CreateFileBatch
                 ) -> VectorStoreFileBatchRecord:
    """POST /vector_stores/{id}/file_batches."""
    store = get(session, tenant, store_id)
    specs = [(f, body.chunking_strategy, body.attributes) for f in body.file_ids or []] + [
        (f.file_id, f.chunking_strategy or body.chunking_strategy,
         f.attributes if f.attributes is not None else body.attributes)
        for f in body.files or []]
    require_files(session, tenant, [s[0] for s in specs],
                  "file_ids" if body.file_ids is not None else "files")
    batch = VectorStoreFileBatchRecord(id=new_id("file_batch"), tenant=tenant,
                                       vector_store_id=store.id)
    session.add(batch)
    session.flush()
    for file_id, chunking, attributes in {s[0]: s for s in specs}.values():
        add_file(session, store, file_id, strategy_of(chunking), attributes, batch.id)
    return batch


def get_batch(session: Session, tenant: str, store_id: str, batch_id: str
              ) -> VectorStoreFileBatchRecord:
    """A batch of the tenant's store, or 404."""
    get(session, tenant, store_id)
    batch = get_owned(session, VectorStoreFileBatchRecord, tenant, batch_id,
                      "vector store file batch")
    if batch.vector_store_id != store_id:
        raise not_found("vector store file batch", batch_id)
    return batch


def cancel_batch(session: Session, tenant: str, store_id: str, batch_id: str
                 ) -> VectorStoreFileBatchRecord:
    """Cancel the files of the batch not indexed yet (compare-and-set on their status)."""
    batch = get_batch(session, tenant, store_id, batch_id)
    if counts(session, store_id, batch.id).in_progress == 0 and not batch.cancelled:
        raise InvalidRequest("Cannot cancel a batch that has finished processing.")
    session.exec(update(VectorStoreFileRecord).where(
        col(VectorStoreFileRecord.batch_id) == batch.id,
        col(VectorStoreFileRecord.status) == "in_progress",
    ).values(status="cancelled", version=VectorStoreFileRecord.version + 1,
             updated_at=time.time()).execution_options(synchronize_session=False))
    batch.cancelled = True
    session.add(batch)
    session.flush()
    return batch


def batch_status(session: Session, batch: VectorStoreFileBatchRecord) -> tuple[str, FileCounts]:
    """A batch's status and counts."""
    c = counts(session, batch.vector_store_id, batch.id)
    if c.in_progress:
        return "in_progress", c
    return ("cancelled" if batch.cancelled else "completed"), c
