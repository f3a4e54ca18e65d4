"""Files: upload checks, lookups, listing, deletion and content (rows + blobs: storage.files)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from sqlmodel import Session, select

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
from orchestrator.models import FileRecord
from orchestrator.storage import BlobNotFound, get_store
from orchestrator.storage.files import (
    clean_filename,
    drop_blob,
    file_row,
    new_file_id,
    require_files,
    save_file,
    storage_key,
)

__all__ = ["check_expiry", "check_purpose", "clean_filename", "content", "delete", "drop_blob",
           "get", "list_scope", "new_file_id", "record_upload", "require_files", "save_file",
           "storage_key"]
log = logging.getLogger(__name__)


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


def record_upload(tenant: str, file_id: str, filename: str, purpose: str, size: int,
                  expires_in: int | None) -> FileRecord:
    """Commit the row of a stored upload in its own unit of work; on failure drop the blob."""
    rec = file_row(tenant, file_id, filename, purpose, size, expires_in)
    try:
        with unit_of_work() as session:
            session.add(rec)
    except BaseException:
        get_store().delete(rec.storage_key)
        raise
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
