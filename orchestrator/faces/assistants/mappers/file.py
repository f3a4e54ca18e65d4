"""File records to wire objects."""

from __future__ import annotations

from orchestrator.faces.assistants.schemas.file import FileObject
from orchestrator.models import FileRecord


def file(rec: FileRecord) -> FileObject:
    """The OpenAI file object of a record."""
    return FileObject.model_validate({
        "id": rec.id,
        "bytes": rec.bytes,
        "created_at": rec.created_at,
        "filename": rec.filename,
        "purpose": rec.purpose,
        "status": rec.status,
        "status_details": rec.status_details,
        "expires_at": rec.expires_at,
    })
