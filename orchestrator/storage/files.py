"""File rows and their blobs, face-neutral: ids, keys, server-written files, existence checks."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from sqlmodel import Session, col, select

from orchestrator.errors import InvalidRequest
from orchestrator.ids import new_id
from orchestrator.models import FileRecord
from orchestrator.storage.base import BlobStore
from orchestrator.storage.factory import get_store

log = logging.getLogger(__name__)
MAX_FILENAME = 255


def require_files(session: Session, tenant: str, file_ids: Sequence[str], param: str) -> None:
    """Every id names one of the tenant's files, else a 400 naming the first missing one."""
    if not file_ids:
        return
    found = set(
        session.exec(
            select(FileRecord.id).where(
                col(FileRecord.id).in_(list(file_ids)), FileRecord.tenant == tenant
            )
        ).all()
    )
    for i, file_id in enumerate(file_ids):
        if file_id not in found:
            raise InvalidRequest(f"No file found with id '{file_id}'.", param=f"{param}[{i}]")


def clean_filename(raw: str) -> str:
    """The client's filename without any folder part (either slash style)."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1].strip().replace("\x00", "")
    if len(name) > MAX_FILENAME:
        raise InvalidRequest(f"The filename is longer than {MAX_FILENAME} characters.",
                             param="file")
    return name or "upload"


def storage_key(tenant: str, file_id: str) -> str:
    """Where a file's bytes live in the blob store."""
    return f"files/{tenant}/{file_id}"


def new_file_id() -> str:
    """A fresh file id ("file-…")."""
    return new_id("file")


def file_row(tenant: str, file_id: str, filename: str, purpose: str, size: int,
             expires_in: int | None) -> FileRecord:
    """The (unsaved) row of a stored file; `expires_in` seconds after created_at, if given."""
    rec = FileRecord(id=file_id, tenant=tenant, bytes=size, filename=filename, purpose=purpose,
                     storage_key=storage_key(tenant, file_id))
    if expires_in is not None:
        rec.expires_at = rec.created_at + expires_in
    return rec


def save_file(session: Session, tenant: str, filename: str, purpose: str,
              chunks: Iterable[bytes], store: BlobStore | None = None) -> FileRecord:
    """Server-side producers (code interpreter, batches): store the bytes, add the row."""
    file_id = new_file_id()
    key = storage_key(tenant, file_id)
    writer = (store or get_store()).writer(key)
    try:
        for chunk in chunks:
            writer.write(chunk)
        size = writer.commit()
    finally:
        writer.abort()
    rec = file_row(tenant, file_id, clean_filename(filename), purpose, size, None)
    session.add(rec)
    session.flush()
    return rec


def drop_blob(key: str) -> None:
    """Remove a deleted file's bytes (a failure leaves an orphan blob, logged)."""
    try:
        get_store().delete(key)
    except OSError:
        log.exception("could not delete blob %s; it is now orphaned", key)
