"""The parsed content of a vector store file, read the way indexing read it."""

from __future__ import annotations

import logging

from sqlmodel import Session, select

from orchestrator.faces.assistants.services import vector_stores as stores
from orchestrator.models import FileRecord
from orchestrator.retrieval.ingest import parsed_text
from orchestrator.retrieval.parsing import ParseError

log = logging.getLogger(__name__)


def file_text(session: Session, tenant: str, store_id: str, file_id: str) -> list[str]:
    """The text parts of an indexed file (404 as the other store-file calls); none while the
    file is not indexed (in_progress, failed, cancelled): the store holds no content for it."""
    row = stores.get_file(session, tenant, store_id, file_id)
    if row.status != "completed":
        return []
    file = session.exec(select(FileRecord).where(FileRecord.id == file_id,
                                                 FileRecord.tenant == tenant)).first()
    if file is None:  # deleted meanwhile (its store rows go in the same transaction)
        return []
    try:
        text = parsed_text(file.filename, file.storage_key)
    except ParseError as exc:  # it parsed when indexed; the blob must have changed or gone
        log.error("indexed file %s no longer parses: %s", file_id, exc.message)
        return []
    return [text] if text else []
