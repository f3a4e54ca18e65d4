"""Vector store records to wire objects (status and counts read from the file rows)."""

from __future__ import annotations

from typing import Any, Literal

from sqlmodel import Session

from orchestrator.faces.assistants.schemas.vector_store import (
    FileBatch,
    SearchPage,
    SearchResult,
    VectorStore,
    VectorStoreFile,
)
from orchestrator.faces.assistants.services import vector_stores as svc
from orchestrator.models import (
    VectorStoreFileBatchRecord,
    VectorStoreFileRecord,
    VectorStoreRecord,
)
from orchestrator.retrieval.hits import Hit
from orchestrator.retrieval.stores import expired


def vector_store(session: Session, rec: VectorStoreRecord) -> VectorStore:
    """The vector store object; `status` follows its files and expiry."""
    counts = svc.counts(session, rec.id)
    status: Literal["expired", "in_progress", "completed"] = "expired" if expired(
        rec) else ("in_progress" if counts.in_progress else "completed")
    return VectorStore(
        id=rec.id, created_at=rec.created_at, name=rec.name,
        usage_bytes=svc.usage_bytes(session, rec.id), file_counts=counts, status=status,
        expires_after=rec.expires_after, expires_at=rec.expires_at,
        last_active_at=rec.last_active_at, metadata=rec.meta if rec.meta is not None else {})


def store_file(rec: VectorStoreFileRecord) -> VectorStoreFile:
    """The vector store file object."""
    return VectorStoreFile(
        id=rec.id, usage_bytes=rec.usage_bytes, created_at=rec.created_at,
        vector_store_id=rec.vector_store_id, status=rec.status,  # type: ignore[arg-type]
        last_error=rec.last_error, chunking_strategy=rec.chunking_strategy,
        attributes=rec.attributes if rec.attributes is not None else {})


def batch(session: Session, rec: VectorStoreFileBatchRecord) -> FileBatch:
    """The file batch object."""
    status, counts = svc.batch_status(session, rec)
    return FileBatch(id=rec.id, created_at=rec.created_at, vector_store_id=rec.vector_store_id,
                     status=status, file_counts=counts)  # type: ignore[arg-type]


def search_page(queries: list[str], hits: list[Hit], names: dict[str, str],
                attributes: dict[str, Any]) -> SearchPage:
    """The search results page."""
    return SearchPage(search_query=queries, data=[SearchResult(
        file_id=h.file_id, filename=names.get(h.file_id, ""), score=h.score,
        attributes=attributes.get(h.file_id) or {},
        content=[{"type": "text", "text": h.text}]) for h in hits])
