"""The lexical index in the database itself: SQLite FTS5 or PostgreSQL full-text search."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, insert, text
from sqlmodel import Session, col
from sqlmodel import delete as sql_delete

from orchestrator.models import ChunkRecord, VectorStoreFileRecord
from orchestrator.retrieval import embeddings, hybrid
from orchestrator.retrieval.chunking import Chunk
from orchestrator.retrieval.hits import Hit

log = logging.getLogger(__name__)
_TERM = re.compile(r"\w+", re.UNICODE)
STOPWORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "from", "has", "have", "how",
    "i", "in", "is", "it", "its", "of", "on", "or", "that", "the", "this", "to", "was", "were",
    "what", "when", "where", "which", "who", "why", "will", "with", "does", "do", "did", "can",
    "could", "should", "would", "you", "your", "me", "my", "we", "our", "they", "their", "there",
    "about", "into", "than", "then",
})
MAX_TERMS = 32
SCORE_SCALE = {"sqlite": 8.0, "postgresql": 8.0}  # raw rank at which the score reaches ~0.63


def replace_chunks(session: Session, tenant: str, vector_store_id: str, file_id: str,
                   chunks: Sequence[Chunk], vectors: Sequence[bytes] | None = None) -> None:
    """Drop the file's old chunks in this store and write the new ones (same transaction)."""
    drop_chunks(session, vector_store_id, file_id)
    if chunks:
        session.exec(insert(ChunkRecord), params=[
            {"tenant": tenant, "vector_store_id": vector_store_id, "file_id": file_id,
             "ordinal": i, "tokens": c.tokens, "text": c.text,
             "embedding": vectors[i] if vectors else None} for i, c in enumerate(chunks)])


def drop_chunks(session: Session, vector_store_id: str, file_id: str | None = None) -> None:
    """Remove a store's chunks (of one file, or all)."""
    stmt = sql_delete(ChunkRecord).where(col(ChunkRecord.vector_store_id) == vector_store_id)
    if file_id is not None:
        stmt = stmt.where(col(ChunkRecord.file_id) == file_id)
    session.exec(stmt)


def forget_file(session: Session, tenant: str, file_id: str) -> None:
    """A deleted file leaves every store of its tenant: its chunks and its store rows."""
    session.exec(sql_delete(ChunkRecord).where(col(ChunkRecord.tenant) == tenant,
                                               col(ChunkRecord.file_id) == file_id))
    session.exec(sql_delete(VectorStoreFileRecord).where(
        col(VectorStoreFileRecord.tenant) == tenant, col(VectorStoreFileRecord.id) == file_id))


def query_terms(query: str) -> list[str]:
    """The distinct lower-cased words of a query, stopwords dropped (all kept if nothing else)."""
    words = [w.lower() for w in _TERM.findall(query)]
    kept = [w for w in words if w not in STOPWORDS] or words
    return list(dict.fromkeys(kept))[:MAX_TERMS]


def _score(raw: float, dialect: str) -> float:
    return round(1 - math.exp(-max(raw, 0.0) / SCORE_SCALE.get(dialect, 1.0)), 4)


def search(session: Session, tenant: str, store_ids: Sequence[str], query: str, limit: int,
           file_ids: Sequence[str] | None = None) -> list[Hit]:
    """The best `limit` chunks, best first: lexical, fused with dense vectors when an
    embeddings model is configured (falling back to lexical if the endpoint fails)."""
    if not embeddings.enabled():
        return lexical(session, tenant, store_ids, query, limit, file_ids)
    words = lexical(session, tenant, store_ids, query, limit * hybrid.POOL, file_ids)
    try:
        vector = embeddings.embed([query])[0]
    except embeddings.EmbeddingError:
        log.warning("query embedding failed; lexical results only", exc_info=True)
        return words[:limit]
    dense = hybrid.dense(session, tenant, store_ids, vector, limit * hybrid.POOL, file_ids)
    return hybrid.fuse(words, dense, limit)


def lexical(session: Session, tenant: str, store_ids: Sequence[str], query: str, limit: int,
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
        return _search_postgres(session, terms, params, file_filter, file_ids is not None)
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


def _pg(sql: str, with_files: bool) -> Any:
    stmt = text(sql).bindparams(bindparam("stores", expanding=True))
    return stmt.bindparams(bindparam("files", expanding=True)) if with_files else stmt


def _search_postgres(session: Session, terms: list[str], params: dict[str, Any],
                     file_filter: str, with_files: bool) -> list[Hit]:
    """PostgreSQL's ts_rank has no inverse document frequency; weigh each term by its IDF in
    the searched chunks (counted over the GIN-matched candidates), ts_rank breaking ties."""
    conn = session.connection()
    params = {**params, "q": " | ".join(terms),
              **{f"t{i}": t for i, t in enumerate(terms)}}
    scope = (f"c.tenant = :tenant AND c.vector_store_id IN :stores{file_filter}")
    has = [f"c.tsv @@ to_tsquery('english', :t{i})" for i in range(len(terms))]
    counts = conn.execute(_pg(
        "SELECT (SELECT count(*) FROM retrieval_chunks c WHERE " + scope + "), "
        + ", ".join(f"count(*) FILTER (WHERE {h})" for h in has)
        + " FROM retrieval_chunks c WHERE c.tsv @@ to_tsquery('english', :q) AND " + scope,
        with_files), params).one()
    total = int(counts[0])
    for i, df in enumerate(counts[1:]):
        params[f"w{i}"] = math.log(1 + (total - int(df) + 0.5) / (int(df) + 0.5))
    raw = " + ".join(f"(CASE WHEN {h} THEN :w{i} ELSE 0 END)" for i, h in enumerate(has))
    rows = conn.execute(_pg(
        f"SELECT c.vector_store_id, c.file_id, c.ordinal, c.text, {raw}"
        " + ts_rank(c.tsv, to_tsquery('english', :q), 1) AS raw FROM retrieval_chunks c"
        f" WHERE c.tsv @@ to_tsquery('english', :q) AND {scope}"
        " ORDER BY raw DESC, c.seq LIMIT :limit", with_files), params).all()
    return [Hit(r[0], r[1], int(r[2]), r[3], _score(float(r[4]), "postgresql")) for r in rows]
