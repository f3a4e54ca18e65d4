"""Files: upload bookkeeping, lookups, listing, deletion and content; blobs via the store."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlmodel import Session, col, select

from orchestrator.config import get_settings
from orchestrator.db import after_commit, unit_of_work
from orchestrator.errors import InvalidRequest, NotFound
from orchestrator.faces.assistants.schemas.file import (
    EXPIRY_ANCHORS,
    MAX_EXPIRY_SECONDS,
    SERVER_PURPOSES,
    UPLOAD_PURPOSES,
)
from orchestrator.faces.assistants.services import file_refs
from orchestrator.ids import new_id
from orchestrator.models import FileRecord
from orchestrator.storage import BlobNotFound, BlobStore, get_store

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


def check_purpose(purpose: str) -> str:
    """A purpose a client may upload with; server-only and unknown ones are a 400."""
    if purpose in UPLOAD_PURPOSES:
        return purpose
    if purpose in SERVER_PURPOSES:
        raise InvalidRequest(
            f"Invalid 'purpose': '{purpose}' is reserved for files the server writes.",
            param="purpose",
        )
    raise InvalidRequest(
        f"Invalid 'purpose': '{purpose}'. Expected one of: {', '.join(UPLOAD_PURPOSES)}.",
        param="purpose",
    )


def check_expiry(anchor: str | None, seconds: str | None) -> int | None:
    """Seconds after created_at at which the file expires (from expires_after[...])."""
    if anchor is None and seconds is None:
        return None
    if anchor is None:
        raise InvalidRequest("Missing required parameter: 'expires_after.anchor'.",
                             param="expires_after.anchor", code="missing_required_parameter")
    if seconds is None:
        raise InvalidRequest("Missing required parameter: 'expires_after.seconds'.",
                             param="expires_after.seconds", code="missing_required_parameter")
    if anchor not in EXPIRY_ANCHORS:
        raise InvalidRequest(f"Invalid 'expires_after.anchor': '{anchor}'. Expected"
                             " 'created_at'.", param="expires_after.anchor")
    try:
        value = int(seconds.strip())
    except ValueError:
        value = None
    least = get_settings().file_min_expiry_seconds
    if value is None or not least <= value <= MAX_EXPIRY_SECONDS:
        raise InvalidRequest(
            f"Invalid 'expires_after.seconds': expected an integer between {least}"
            f" and {MAX_EXPIRY_SECONDS}, got '{seconds}'.", param="expires_after.seconds")
    return value


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


def _row(tenant: str, file_id: str, filename: str, purpose: str, size: int,
         expires_in: int | None) -> FileRecord:
    rec = FileRecord(id=file_id, tenant=tenant, bytes=size, filename=filename, purpose=purpose,
                     storage_key=storage_key(tenant, file_id))
    if expires_in is not None:
        rec.expires_at = rec.created_at + expires_in
    return rec


def record_upload(tenant: str, file_id: str, filename: str, purpose: str, size: int,
                  expires_in: int | None) -> FileRecord:
    """Commit the row of a stored upload in its own unit of work; on failure drop the blob."""
    rec = _row(tenant, file_id, filename, purpose, size, expires_in)
    try:
        with unit_of_work() as session:
            session.add(rec)
    except BaseException:
        get_store().delete(rec.storage_key)
        raise
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
    rec = _row(tenant, file_id, clean_filename(filename), purpose, size, None)
    session.add(rec)
    session.flush()
    return rec


def get(session: Session, tenant: str, file_id: str) -> FileRecord:
    """The tenant's file, or OpenAI's 404 ("No such File object: file-…")."""
    rec = session.exec(
        select(FileRecord).where(FileRecord.id == file_id, FileRecord.tenant == tenant)
    ).first()
    if rec is None:
        raise NotFound(f"No such File object: {file_id}", param="id")
    return rec


def list_scope(tenant: str, purpose: str | None) -> list[Any]:
    """Filters selecting the tenant's files, optionally of one purpose."""
    scope: list[Any] = [FileRecord.tenant == tenant]
    if purpose:
        scope.append(FileRecord.purpose == purpose)
    return scope


def delete(session: Session, tenant: str, file_id: str) -> None:
    """Delete the row and every reference to the file now (file_refs.detach); remove the blob
    only once the deletion has committed."""
    rec = get(session, tenant, file_id)
    session.delete(rec)
    file_refs.detach(session, tenant, [file_id])
    session.flush()
    key = rec.storage_key
    after_commit(session, lambda: drop_blob(key))


def drop_blob(key: str) -> None:
    """Remove a deleted file's bytes (a failure leaves an orphan blob, logged)."""
    try:
        get_store().delete(key)
    except OSError:
        log.exception("could not delete blob %s; it is now orphaned", key)


def content(session: Session, tenant: str,
            file_id: str) -> tuple[FileRecord, int, Iterator[bytes]]:
    """The file's record, its stored size and its bytes as a chunk iterator (opened now)."""
    rec = get(session, tenant, file_id)
    store = get_store()
    try:
        return rec, store.size(rec.storage_key), store.reader(rec.storage_key)
    except BlobNotFound:
        log.error("file %s has no blob under %s", rec.id, rec.storage_key)
        raise
