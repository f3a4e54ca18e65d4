"""retrieval.ingest: index one file of one vector store."""

from __future__ import annotations

from orchestrator.retrieval.ingest import ingest as ingest_file
from workers.celery_app import app


@app.task(name="retrieval.ingest", queue="runs")
def ingest(vector_store_id: str, file_id: str) -> str:
    """Parse, chunk and index the file (idempotent; a stale or duplicate run drops its work)."""
    return ingest_file(vector_store_id, file_id)
