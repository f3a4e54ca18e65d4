"""Batches from the Assistants face: the create body in, the face-neutral batch service behind."""

from __future__ import annotations

from sqlmodel import Session

from orchestrator.batches import service
from orchestrator.batches.service import cancel, get
from orchestrator.faces.assistants.schemas.batch import CreateBatch
from orchestrator.models import BatchRecord

__all__ = ["cancel", "create", "get"]


def create(session: Session, tenant: str, body: CreateBatch) -> BatchRecord:
    """POST /v1/batches: validate the input file, record the batch and its lines."""
    return service.create(session, tenant, input_file_id=body.input_file_id,
                          endpoint=body.endpoint, completion_window=body.completion_window,
                          metadata=body.metadata)
