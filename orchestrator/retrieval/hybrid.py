"""Dense retrieval over stored chunk vectors and reciprocal rank fusion with lexical hits."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from orchestrator.models import ChunkRecord
from orchestrator.retrieval.embeddings import similarities
from orchestrator.retrieval.hits import Hit

POOL = 4  # candidates per list: limit * POOL
RRF_K = 60


def dense(session: Session, tenant: str, store_ids: Sequence[str], vector: bytes, limit: int,
          file_ids: Sequence[str] | None = None) -> list[Hit]:
    """The chunks nearest the query vector (exact cosine over the stores' vectors)."""
    if not store_ids or (file_ids is not None and not file_ids):
        return []
    stmt = select(ChunkRecord.seq, ChunkRecord.embedding).where(
        ChunkRecord.tenant == tenant, col(ChunkRecord.vector_store_id).in_(list(store_ids)),
        col(ChunkRecord.embedding).is_not(None))
    if file_ids is not None:
        stmt = stmt.where(col(ChunkRecord.file_id).in_(list(file_ids)))
    rows = session.exec(stmt).all()
    if not rows:
        return []
    sims = similarities(vector, [bytes(r[1] or b"") for r in rows])
    top = (-sims).argsort()[:limit]
    best = {int(rows[i][0] or 0): float(sims[i]) for i in top if sims[i] > 0}
    chunks = session.exec(select(ChunkRecord).where(col(ChunkRecord.seq).in_(list(best)))).all()
    hits = [Hit(c.vector_store_id, c.file_id, c.ordinal, c.text,
                round(max(0.0, min(1.0, best[int(c.seq or 0)])), 4)) for c in chunks]
    return sorted(hits, key=lambda h: -h.score)


def fuse(lexical: list[Hit], dense_hits: list[Hit], limit: int) -> list[Hit]:
    """Reciprocal rank fusion; the score is the fused value over its maximum, in (0, 1]."""
    fused: dict[tuple[str, str, int], float] = {}
    chunk: dict[tuple[str, str, int], Hit] = {}
    for ranked in (lexical, dense_hits):
        for rank, hit in enumerate(ranked):
            key = (hit.vector_store_id, hit.file_id, hit.ordinal)
            fused[key] = fused.get(key, 0.0) + 1.0 / (RRF_K + rank + 1)
            chunk.setdefault(key, hit)
    best = 2.0 / (RRF_K + 1)
    order = sorted(fused, key=lambda k: -fused[k])[:limit]
    return [Hit(*k, chunk[k].text, round(min(1.0, fused[k] / best), 4)) for k in order]
