"""Vector stores: create / modify / delete, their files and batches, search, file counts."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select
from sqlmodel import delete as sql_delete

from orchestrator.errors import InvalidRequest, not_found
from orchestrator.faces.assistants.schemas.common import ChunkingStrategy
from orchestrator.faces.assistants.schemas.vector_store import (
    CreateFileBatch,
    CreateVectorStore,
    ExpiresAfter,
    FileCounts,
    ModifyVectorStore,
)
from orchestrator.ids import new_id
from orchestrator.models import (
    VectorStoreFileBatchRecord,
    VectorStoreFileRecord,
    VectorStoreRecord,
)
from orchestrator.records import get_owned
from orchestrator.retrieval.index import drop_chunks
from orchestrator.retrieval.stores import add_file, new_store, set_expiry, static_strategy
from orchestrator.storage.files import require_files


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
        return static_strategy(body.static.model_dump())
    return static_strategy(None)


def expiry_of(expires_after: ExpiresAfter | None) -> dict[str, Any] | None:
    """The stored `expires_after` of a request's."""
    return expires_after.model_dump() if expires_after else None


def create(session: Session, tenant: str, body: CreateVectorStore) -> VectorStoreRecord:
    """POST /vector_stores: the store, and its files queued for indexing."""
    require_files(session, tenant, body.file_ids or [], "file_ids")
    rec = new_store(session, tenant, name=body.name or "",
                    expires_after=expiry_of(body.expires_after), metadata=body.metadata)
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
        set_expiry(rec, expiry_of(body.expires_after))
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
