"""Index one file of one vector store: read, parse, chunk, then write under compare-and-set."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from orchestrator.config import get_settings
from orchestrator.db import unit_of_work
from orchestrator.models import FileRecord, VectorStoreFileRecord
from orchestrator.retrieval import embeddings
from orchestrator.retrieval.chunking import AUTO_MAX_TOKENS, AUTO_OVERLAP_TOKENS, chunk_text
from orchestrator.retrieval.index import replace_chunks
from orchestrator.retrieval.parsing import ParseError, parse
from orchestrator.storage import BlobNotFound, get_store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Job:
    seq: int
    version: int
    tenant: str
    filename: str
    storage_key: str
    strategy: dict[str, Any]


def _sizes(strategy: dict[str, Any]) -> tuple[int, int]:
    static = strategy.get("static") or {}
    return (int(static.get("max_chunk_size_tokens", AUTO_MAX_TOKENS)),
            int(static.get("chunk_overlap_tokens", AUTO_OVERLAP_TOKENS)))


def _load(session: Session, vector_store_id: str, file_id: str) -> _Job | ParseError | None:
    row = session.exec(select(VectorStoreFileRecord).where(
        VectorStoreFileRecord.vector_store_id == vector_store_id,
        VectorStoreFileRecord.id == file_id)).first()
    if row is None or row.status != "in_progress" or row.seq is None:
        return None
    file = session.exec(select(FileRecord).where(FileRecord.id == file_id,
                                                 FileRecord.tenant == row.tenant)).first()
    job = _Job(row.seq, row.version, row.tenant, file.filename if file else "",
               file.storage_key if file else "", row.chunking_strategy or {})
    if file is None:
        return _finish_failed(session, job, "invalid_file", "The file was deleted.")
    return job


def _read(key: str) -> bytes:
    return b"".join(get_store().reader(key))


def _finish_failed(session: Session, job: _Job, code: str, message: str) -> ParseError:
    _cas(session, job, status="failed", last_error={"code": code, "message": message})
    return ParseError(code, message)


def _cas(session: Session, job: _Job, **values: Any) -> bool:
    """Write the outcome if the row is still the in_progress version we read."""
    stmt = update(VectorStoreFileRecord).where(
        col(VectorStoreFileRecord.seq) == job.seq,
        col(VectorStoreFileRecord.version) == job.version,
        col(VectorStoreFileRecord.status) == "in_progress",
    ).values(version=job.version + 1, updated_at=time.time(), **values).execution_options(
        synchronize_session=False)
    return bool(session.exec(stmt).rowcount == 1)


def parsed_text(filename: str, storage_key: str) -> str:
    """The file's text as indexing reads it, or ParseError saying why not."""
    try:
        data = _read(storage_key)
    except BlobNotFound:
        raise ParseError("server_error", "The file's content is missing from storage.") from None
    try:
        return parse(filename, data)
    except ParseError:
        raise
    except Exception as exc:  # parsers raise many kinds of errors on malformed input
        raise ParseError("invalid_file",
                         f"The file could not be parsed ({type(exc).__name__}: {exc})") from None


def _prepare(job: _Job) -> tuple[str, list[Any], list[bytes] | None]:
    text = parsed_text(job.filename, job.storage_key)
    max_tokens, overlap = _sizes(job.strategy)
    chunks = chunk_text(text, max_tokens, overlap)
    total = sum(c.tokens for c in chunks)
    limit = get_settings().retrieval_max_file_tokens
    if total > limit:
        raise ParseError("invalid_file", f"The file has about {total} tokens; the limit per"
                                         f" file is {limit}.")
    vectors = None
    if embeddings.enabled():
        try:
            vectors = embeddings.embed([c.text for c in chunks])
        except embeddings.EmbeddingError as exc:
            raise ParseError("server_error", str(exc)) from None
    return text, chunks, vectors


def ingest(vector_store_id: str, file_id: str) -> str:
    """Index the file if it is still waiting; idempotent, and safe to run twice at once."""
    with unit_of_work() as session:
        job = _load(session, vector_store_id, file_id)
    if not isinstance(job, _Job):
        return "failed: file deleted" if job else "nothing to do"
    try:
        text, chunks, vectors = _prepare(job)
    except ParseError as exc:
        with unit_of_work() as session:
            done = _cas(session, job, status="failed",
                        last_error={"code": exc.code, "message": exc.message})
        return f"failed: {exc.code}" if done else "stale: dropped"
    with unit_of_work() as session:
        if not _cas(session, job, status="completed", last_error=None,
                    usage_bytes=len(text.encode())):
            return "stale: dropped"
        replace_chunks(session, job.tenant, vector_store_id, file_id, chunks, vectors)
    return f"completed: {len(chunks)} chunks"
