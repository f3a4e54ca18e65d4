"""retrieval.ingest (index one file of one vector store) and retrieval.sweep (on beat)."""

from __future__ import annotations

from orchestrator.db import unit_of_work
from orchestrator.jobs import Task
from orchestrator.retrieval.ingest import ingest as ingest_file
from orchestrator.retrieval.sweep import requeue_stale
from workers.celery_app import app


@app.task(name=Task.RETRIEVAL_INGEST, queue="runs")
def ingest(vector_store_id: str, file_id: str) -> str:
    """Parse, chunk and index the file (idempotent; a stale or duplicate run drops its work)."""
    return ingest_file(vector_store_id, file_id)


@app.task(name=Task.RETRIEVAL_SWEEP, queue="maintenance")
def sweep() -> str:
    """Re-send indexing tasks that were lost (Redis restart, dropped message)."""
    with unit_of_work() as session:
        return f"requeued={requeue_stale(session)}"
