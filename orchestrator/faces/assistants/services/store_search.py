"""Vector store search (the API endpoint) and the filenames of hits."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from orchestrator.errors import InvalidRequest
from orchestrator.faces.assistants.schemas.vector_store import SearchRequest
from orchestrator.faces.assistants.services.vector_stores import get
from orchestrator.models import VectorStoreFileRecord
from orchestrator.retrieval.filters import matches
from orchestrator.retrieval.hits import Hit
from orchestrator.retrieval.index import search
from orchestrator.retrieval.stores import expired, filenames, touch


def _filtered_files(session: Session, store_id: str, filters: dict[str, Any] | None
                    ) -> list[str] | None:
    if not filters:
        return None
    matches(filters, {})  # a malformed filter is a 400 even in an empty store
    rows = session.exec(select(VectorStoreFileRecord.id, VectorStoreFileRecord.attributes).where(
        VectorStoreFileRecord.vector_store_id == store_id)).all()
    return [fid for fid, attrs in rows if matches(filters, dict(attrs or {}))]


def run_search(session: Session, tenant: str, store_id: str, body: SearchRequest
               ) -> tuple[list[str], list[Hit], dict[str, str], dict[str, Any]]:
    """POST /vector_stores/{id}/search: query, hits, filenames and attributes by file id."""
    store = get(session, tenant, store_id)
    if expired(store):
        raise InvalidRequest(f"Vector store {store.id} has expired.", param="vector_store_id")
    queries = [body.query] if isinstance(body.query, str) else list(body.query)
    if not any(q.strip() for q in queries):
        raise InvalidRequest("Invalid 'query': it must not be empty.", param="query")
    hits = search(session, tenant, [store.id], " ".join(queries), body.max_num_results,
                  _filtered_files(session, store.id, body.filters))
    threshold = (body.ranking_options.score_threshold or 0.0) if body.ranking_options else 0.0
    hits = [h for h in hits if h.score >= threshold]
    touch(session, store)
    return queries, hits, filenames(session, tenant, [h.file_id for h in hits]), {
        fid: attrs for fid, attrs in session.exec(select(
            VectorStoreFileRecord.id, VectorStoreFileRecord.attributes).where(
            VectorStoreFileRecord.vector_store_id == store.id)).all()}

