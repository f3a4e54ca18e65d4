"""Vector-store records, face-neutral: create, queue files, activity and expiry, the v1 store.

Takes and stores plain values (the stored `expires_after` and chunking-strategy dicts); each face
converts its wire schemas before calling.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from orchestrator import jobs
from orchestrator.ids import new_id
from orchestrator.jobs import Task
from orchestrator.models import (
    FileRecord,
    VectorStoreFileRecord,
    VectorStoreRecord,
)
from orchestrator.models.base import now
from orchestrator.retrieval.chunking import AUTO_MAX_TOKENS, AUTO_OVERLAP_TOKENS

DAY = 86_400


def static_strategy(static: dict[str, Any] | None) -> dict[str, Any]:
    """The stored (and shown) strategy: the given static sizes, else auto's 800 / 400."""
    if static is not None:
        return {"type": "static", "static": static}
    return {"type": "static", "static": {"max_chunk_size_tokens": AUTO_MAX_TOKENS,
                                         "chunk_overlap_tokens": AUTO_OVERLAP_TOKENS}}


def set_expiry(rec: VectorStoreRecord, expires_after: dict[str, Any] | None) -> None:
    """Store `expires_after` ({"anchor", "days"}) and the expiry it gives from the last activity."""
    rec.expires_after = dict(expires_after) if expires_after else None
    anchor = rec.last_active_at or rec.created_at
    rec.expires_at = anchor + int(expires_after["days"]) * DAY if expires_after else None


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
              expires_after: dict[str, Any] | None = None,
              metadata: dict[str, str] | None = None, internal: bool = False,
              store_id: str | None = None) -> VectorStoreRecord:
    """Record an empty store."""
    rec = VectorStoreRecord(id=store_id or new_id("vector_store"), tenant=tenant, name=name,
                            internal=internal, meta=metadata)
    rec.last_active_at = rec.created_at
    set_expiry(rec, expires_after)
    session.add(rec)
    session.flush()
    return rec


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


def store_ids(resources: dict[str, Any] | None) -> list[str]:
    """The vector store ids of stored tool_resources."""
    return list(((resources or {}).get("file_search") or {}).get("vector_store_ids") or [])


def v1_store(session: Session, tenant: str) -> VectorStoreRecord:
    """The tenant's hidden store holding files searched by v1 `retrieval`."""
    store_id = "vs_v1" + hashlib.sha256(tenant.encode()).hexdigest()[:24]
    rec = session.exec(select(VectorStoreRecord).where(VectorStoreRecord.id == store_id)).first()
    if rec is not None:
        return rec
    try:
        with session.begin_nested():
            return new_store(session, tenant, name="v1 retrieval files", internal=True,
                             store_id=store_id)
    except IntegrityError:  # another request made it first
        found = session.exec(select(VectorStoreRecord).where(
            VectorStoreRecord.id == store_id)).one()
        return found


def add_v1_files(session: Session, tenant: str, file_ids: list[str]) -> VectorStoreRecord | None:
    """v1: queue files not yet in the tenant's hidden retrieval store; the store (if any)."""
    if not file_ids:
        return None
    store = v1_store(session, tenant)
    have = set(session.exec(select(VectorStoreFileRecord.id).where(
        VectorStoreFileRecord.vector_store_id == store.id,
        col(VectorStoreFileRecord.id).in_(file_ids))).all())
    for file_id in dict.fromkeys(file_ids):
        if file_id not in have:
            add_file(session, store, file_id, static_strategy(None))
    return store


def filenames(session: Session, tenant: str, file_ids: Sequence[str]) -> dict[str, str]:
    """Filenames by file id."""
    if not file_ids:
        return {}
    return dict(session.exec(select(FileRecord.id, FileRecord.filename).where(
        col(FileRecord.id).in_(list(set(file_ids))), FileRecord.tenant == tenant)).all())
