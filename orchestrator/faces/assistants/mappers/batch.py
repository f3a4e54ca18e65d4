"""Batch records to wire objects."""

from __future__ import annotations

from sqlmodel import Session

from orchestrator.batches.counts import counts
from orchestrator.faces.assistants.schemas.batch import Batch, BatchErrors, RequestCounts
from orchestrator.models import BatchRecord


def batch(session: Session, rec: BatchRecord) -> Batch:
    """The OpenAI batch object, with request_counts read from the database."""
    completed, failed = counts(session, rec)
    return Batch(
        id=rec.id, endpoint=rec.endpoint, input_file_id=rec.input_file_id,
        completion_window=rec.completion_window, status=rec.status,  # type: ignore[arg-type]
        errors=BatchErrors.model_validate(rec.errors) if rec.errors else None,
        output_file_id=rec.output_file_id, error_file_id=rec.error_file_id,
        created_at=rec.created_at, in_progress_at=rec.in_progress_at,
        expires_at=rec.expires_at, finalizing_at=rec.finalizing_at,
        completed_at=rec.completed_at, failed_at=rec.failed_at, expired_at=rec.expired_at,
        cancelling_at=rec.cancelling_at, cancelled_at=rec.cancelled_at,
        request_counts=RequestCounts(total=rec.total, completed=completed, failed=failed),
        metadata=rec.meta if rec.meta is not None else {},
    )
