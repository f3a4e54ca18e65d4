"""The lexical index in the database itself: SQLite FTS5 or PostgreSQL full-text search."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, text
from sqlmodel import Session, col
from sqlmodel import delete as sql_delete

from orchestrator.models import ChunkRecord
from orchestrator.retrieval.chunking import Chunk

_TERM = re.compile(r"\w+", re.UNICODE)
STOPWORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "from", "has", "have", "how",
    "i", "in", "is", "it", "its", "of", "on", "or", "that", "the", "this", "to", "was", "were",
    "what", "when", "where", "which", "who", "why", "will", "with", "does", "do", "did", "can",
    "could", "should", "would", "you", "your", "me", "my", "we", "our", "they", "their", "there",
    "about", "into", "than", "then",
})
MAX_TERMS = 32
SCORE_SCALE = {"sqlite": 8.0, "postgresql": 0.5}  # raw rank at which the score reaches ~0.63


@dataclass(frozen=True)
class Hit:
    """A matching chunk and its score in [0, 1]."""

    vector_store_id: str
    file_id: str
    ordinal: int
    text: str
    score: float


def replace_chunks(session: Session, tenant: str, vector_store_id: str, file_id: str,
                   chunks: Sequence[Chunk]) -> None:
    """Drop the file's old chunks in this store and write the new ones (same transaction)."""
    drop_chunks(session, vector_store_id, file_id)
    session.add_all([ChunkRecord(tenant=tenant, vector_store_id=vector_store_id,
                                 file_id=file_id, ordinal=i, tokens=c.tokens, text=c.text)
                     for i, c in enumerate(chunks)])
    session.flush()


def drop_chunks(session: Session, vector_store_id: str, file_id: str | None = None) -> None:
    """Remove a store's chunks (of one file, or all)."""
    stmt = sql_delete(ChunkRecord).where(col(ChunkRecord.vector_store_id) == vector_store_id)
    if file_id is not None:
        stmt = stmt.where(col(ChunkRecord.file_id) == file_id)
    session.exec(stmt)


def query_terms(query: str) -> list[str]:
    """The distinct lower-cased words of a query, stopwords dropped (all kept if nothing else)."""
    words = [w.lower() for w in _TERM.findall(query)]
    kept = [w for w in words if w not in STOPWORDS] or words
    return list(dict.fromkeys(kept))[:MAX_TERMS]


def _score(raw: float, dialect: str) -> float:
    return round(1 - math.exp(-max(raw, 0.0) / SCORE_SCALE.get(dialect, 1.0)), 4)


def search(session: Session, tenant: str, store_ids: Sequence[str], query: str, limit: int,
           file_ids: Sequence[str] | None = None) -> list[Hit]:
    """The best `limit` chunks of the stores for any of the query's terms, best first."""
    terms = query_terms(query)
    if not terms or not store_ids or (file_ids is not None and not file_ids):
        return []
    dialect = session.get_bind().dialect.name
    params: dict[str, object] = {"tenant": tenant, "stores": list(store_ids), "limit": limit}
    file_filter = ""
    if file_ids is not None:
        file_filter = " AND c.file_id IN :files"
        params["files"] = list(file_ids)
    if dialect == "postgresql":
        params["q"] = " | ".join(terms)
        sql = ("SELECT c.vector_store_id, c.file_id, c.ordinal, c.text,"
               " ts_rank_cd(c.tsv, q, 1) AS raw FROM retrieval_chunks c,"
               " to_tsquery('english', :q) q WHERE c.tsv @@ q AND c.tenant = :tenant"
               f" AND c.vector_store_id IN :stores{file_filter} ORDER BY raw DESC, c.seq"
               " LIMIT :limit")
    else:
        params["q"] = " OR ".join('"' + t.replace('"', "") + '"' for t in terms)
        sql = ("SELECT c.vector_store_id, c.file_id, c.ordinal, c.text,"
               " -bm25(retrieval_chunks_fts) AS raw FROM retrieval_chunks_fts"
               " JOIN retrieval_chunks c ON c.seq = retrieval_chunks_fts.rowid"
               " WHERE retrieval_chunks_fts MATCH :q AND c.tenant = :tenant"
               f" AND c.vector_store_id IN :stores{file_filter}"
               " ORDER BY bm25(retrieval_chunks_fts), c.seq LIMIT :limit")
    stmt = text(sql).bindparams(bindparam("stores", expanding=True))
    if file_ids is not None:
        stmt = stmt.bindparams(bindparam("files", expanding=True))
    rows = session.connection().execute(stmt, params).all()
    return [Hit(r[0], r[1], int(r[2]), r[3], _score(float(r[4]), dialect)) for r in rows]
