"""Files past their `expires_at` are deleted as DELETE /v1/files deletes: row, references, blob."""

from __future__ import annotations

from collections import defaultdict
from functools import partial

from sqlmodel import Session, col, select
from sqlmodel import delete as sql_delete

from orchestrator.db import after_commit
from orchestrator.faces.assistants.services import file_refs
from orchestrator.models import FileRecord
from orchestrator.models.base import now
from orchestrator.storage.files import drop_blob

BATCH = 200  # files per sweep; the next sweep takes the rest


def sweep_expired(session: Session) -> int:
    """Delete up to BATCH expired files in the caller's transaction; blobs go after commit.

    Each row is deleted by a statement that must remove it, so a DELETE /v1/files (or a
    second sweeper) racing us deletes it once and the loser only skips it.
    """
    due = session.exec(select(FileRecord.id, FileRecord.tenant, FileRecord.storage_key).where(
        col(FileRecord.expires_at) <= now()).order_by(col(FileRecord.expires_at)).limit(
        BATCH)).all()
    gone: dict[str, list[str]] = defaultdict(list)
    for file_id, tenant, key in due:
        result = session.exec(sql_delete(FileRecord).where(
            col(FileRecord.id) == file_id, col(FileRecord.tenant) == tenant))
        if result.rowcount == 1:
            gone[tenant].append(file_id)
            after_commit(session, partial(drop_blob, key))
    for tenant, file_ids in gone.items():
        file_refs.detach(session, tenant, file_ids)
    return sum(len(ids) for ids in gone.values())
