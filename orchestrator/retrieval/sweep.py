"""Crash recovery for ingestion: re-send files whose indexing message was lost."""

from __future__ import annotations

import time

from sqlalchemy import update
from sqlmodel import Session, col, select

from orchestrator import jobs
from orchestrator.config import get_settings
from orchestrator.jobs import Task
from orchestrator.models import VectorStoreFileRecord

BATCH = 200


def requeue_stale(session: Session) -> int:
    """Files still in_progress long after they were queued get their task sent again; the
    compare-and-set in ingestion makes a duplicate harmless."""
    cutoff = time.time() - get_settings().retrieval_requeue_seconds
    rows = session.exec(select(VectorStoreFileRecord.seq, VectorStoreFileRecord.version,
                               VectorStoreFileRecord.vector_store_id, VectorStoreFileRecord.id
                               ).where(VectorStoreFileRecord.status == "in_progress",
                                       col(VectorStoreFileRecord.updated_at) < cutoff
                                       ).limit(BATCH)).all()
    sent = 0
    for seq, version, store_id, file_id in rows:
        bumped = session.exec(update(VectorStoreFileRecord).where(
            col(VectorStoreFileRecord.seq) == seq, col(VectorStoreFileRecord.version) == version,
            col(VectorStoreFileRecord.status) == "in_progress",
        ).values(updated_at=time.time()).execution_options(synchronize_session=False))
        if bumped.rowcount == 1:
            jobs.enqueue(session, Task.RETRIEVAL_INGEST, store_id, file_id)
            sent += 1
    return sent
