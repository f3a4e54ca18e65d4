"""Containers and their files: a container is a code-interpreter session the client names.

Its sandbox session is keyed by the container's id (so variables and files outlive one
response); its files are files of the tenant placed at a path under /mnt/data, each backed by
a file row (`file_id`) that holds the bytes. A container expires `expires_minutes` after it
was last active; an expired one still lists and deletes, but no response may use it.
"""

from __future__ import annotations

import posixpath
import time
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import delete as sql_delete
from sqlmodel import Session, col, select

from orchestrator.errors import InvalidRequest, NotFound, not_found
from orchestrator.faces.responses.schemas import CreateContainer
from orchestrator.ids import new_id
from orchestrator.models import ContainerFileRecord, ContainerRecord, FileRecord
from orchestrator.models.base import now
from orchestrator.records import get_owned
from orchestrator.storage import get_store
from orchestrator.storage.base import BlobNotFound
from orchestrator.storage.files import clean_filename, require_files, save_file

DATA = "/mnt/data"
MEMORY_LIMITS = ("1g", "4g", "16g", "64g")
MAX_MINUTES = 24 * 60
UPLOAD_PURPOSE = "user_data"  # the file row behind a container file uploaded directly


def expired(container: ContainerRecord) -> bool:
    """Whether the container is past its expiry (minutes after it was last active)."""
    return time.time() > container.last_active_at + container.expires_minutes * 60


def get(session: Session, tenant: str, container_id: str,
        param: str | None = None) -> ContainerRecord:
    """The tenant's container, or 404."""
    return get_owned(session, ContainerRecord, tenant, container_id, "container", param)


def usable(session: Session, tenant: str, container_id: str, param: str) -> ContainerRecord:
    """A container a response may run code in: the tenant's, not expired."""
    container = get(session, tenant, container_id, param)
    if expired(container):
        raise InvalidRequest(f"Container '{container_id}' has expired; create a new one.",
                             param=param, code="container_expired")
    return container


def touch(session: Session, container: ContainerRecord) -> None:
    """The container was used now: its expiry starts again."""
    container.last_active_at = now()
    session.add(container)
    session.flush()


def _expiry(value: dict[str, Any] | None) -> int:
    if value is None:
        return 20
    if value.get("anchor") != "last_active_at":
        raise InvalidRequest("Invalid value for 'expires_after.anchor': only 'last_active_at'"
                             " is supported.", param="expires_after.anchor")
    minutes = value.get("minutes")
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not (
            1 <= minutes <= MAX_MINUTES):
        raise InvalidRequest(f"'expires_after.minutes' must be an integer from 1 to"
                             f" {MAX_MINUTES}.", param="expires_after.minutes")
    return minutes


def create(session: Session, tenant: str, body: CreateContainer) -> ContainerRecord:
    """POST /v1/containers: a container holding copies of the given files."""
    if not body.name:
        raise InvalidRequest("Missing required parameter: 'name'.", param="name",
                             code="missing_required_parameter")
    if body.memory_limit is not None and body.memory_limit not in MEMORY_LIMITS:
        raise InvalidRequest(f"Invalid value: '{body.memory_limit}'. Supported values are:"
                             " '1g', '4g', '16g' and '64g'.", param="memory_limit")
    if (body.network_policy or {}).get("type", "disabled") != "disabled":
        raise InvalidRequest("Containers on this server have no network: only"
                             " network_policy {\"type\": \"disabled\"} is supported.",
                             param="network_policy")
    if body.skills:
        raise InvalidRequest("Skills are not supported by this server.", param="skills")
    container = new(session, tenant, body.name, _expiry(body.expires_after),
                    body.memory_limit or "1g")
    add_files(session, container, body.file_ids or [], "file_ids")
    return container


def new(session: Session, tenant: str, name: str, minutes: int = 20,
        memory_limit: str = "1g") -> ContainerRecord:
    """Insert an empty container."""
    container = ContainerRecord(id=new_id("container"), tenant=tenant, name=name,
                                expires_minutes=minutes, memory_limit=memory_limit)
    session.add(container)
    session.flush()
    return container


def list_scope(tenant: str, name: str | None) -> list[Any]:
    """Filters selecting the tenant's containers, optionally of one name."""
    scope: list[Any] = [ContainerRecord.tenant == tenant]
    if name is not None:
        scope.append(ContainerRecord.name == name)
    return scope


def delete(session: Session, tenant: str, container_id: str) -> None:
    """Remove the container and its file entries (the files' own rows stay)."""
    container = get(session, tenant, container_id)
    session.exec(sql_delete(ContainerFileRecord).where(
        col(ContainerFileRecord.container_id) == container.id))
    session.delete(container)
    session.flush()


def files(session: Session, container: ContainerRecord) -> list[ContainerFileRecord]:
    """The container's files whose bytes still exist, oldest first."""
    rows = session.exec(select(ContainerFileRecord).where(
        ContainerFileRecord.container_id == container.id,
    ).order_by(col(ContainerFileRecord.seq))).all()
    alive = set(session.exec(select(FileRecord.id).where(
        col(FileRecord.id).in_([r.file_id for r in rows]))).all()) if rows else set()
    return [r for r in rows if r.file_id in alive]


def file_scope(container: ContainerRecord) -> list[Any]:
    """Filters selecting the container's files whose bytes still exist."""
    return [ContainerFileRecord.container_id == container.id,
            col(ContainerFileRecord.file_id).in_(select(FileRecord.id).where(
                FileRecord.tenant == container.tenant))]


def get_file(session: Session, tenant: str, container_id: str,
             file_id: str) -> ContainerFileRecord:
    """A file of the tenant's container, or 404."""
    container = get(session, tenant, container_id)
    row = session.exec(select(ContainerFileRecord).where(
        ContainerFileRecord.id == file_id, ContainerFileRecord.container_id == container.id,
    )).first()
    if row is None or session.exec(select(FileRecord.id).where(
            FileRecord.id == row.file_id)).first() is None:
        raise not_found("container file", file_id)
    return row


def _place(session: Session, container: ContainerRecord, path: str, rec: FileRecord,
           source: str) -> ContainerFileRecord:
    """Put the file at `path`; a file already there is replaced (it keeps its id)."""
    row = session.exec(select(ContainerFileRecord).where(
        ContainerFileRecord.container_id == container.id,
        ContainerFileRecord.path == path)).first()
    if row is None:
        row = ContainerFileRecord(id=new_id("container_file"), tenant=container.tenant,
                                  container_id=container.id, path=path, file_id=rec.id)
    row.file_id, row.bytes, row.source = rec.id, rec.bytes, source
    session.add(row)
    session.flush()
    return row


def path_for(filename: str) -> str:
    """Where a file of this name goes in a container."""
    return posixpath.join(DATA, clean_filename(filename))


def add_files(session: Session, container: ContainerRecord, file_ids: Iterable[str],
              param: str) -> list[ContainerFileRecord]:
    """Place the tenant's files (by id, 400 for one not found) in the container."""
    ids = list(dict.fromkeys(file_ids))
    require_files(session, container.tenant, ids, param)
    recs = {r.id: r for r in session.exec(select(FileRecord).where(
        col(FileRecord.id).in_(ids))).all()} if ids else {}
    return [_place(session, container, path_for(recs[i].filename), recs[i], "user")
            for i in ids]


def add_file(session: Session, tenant: str, container_id: str,
             file_id: str) -> ContainerFileRecord:
    """POST .../files with {file_id}: place one of the tenant's files."""
    container = get(session, tenant, container_id)
    get_owned(session, FileRecord, tenant, file_id, "file", "file_id")
    return add_files(session, container, [file_id], "file_id")[0]


def upload(session: Session, tenant: str, container_id: str, filename: str,
           chunks: Iterable[bytes]) -> ContainerFileRecord:
    """POST .../files with a multipart `file`: store the bytes, then place them."""
    container = get(session, tenant, container_id)
    rec = save_file(session, tenant, filename, UPLOAD_PURPOSE, chunks)
    return _place(session, container, path_for(rec.filename), rec, "user")


def delete_file(session: Session, tenant: str, container_id: str, file_id: str) -> None:
    """Remove a file from the container (its file row stays)."""
    session.delete(get_file(session, tenant, container_id, file_id))
    session.flush()


def content(session: Session, tenant: str, container_id: str,
            file_id: str) -> tuple[ContainerFileRecord, int, Iterator[bytes]]:
    """The container file, its size and its bytes (opened now)."""
    row = get_file(session, tenant, container_id, file_id)
    rec = get_owned(session, FileRecord, tenant, row.file_id, "container file")
    store = get_store()
    try:
        return row, store.size(rec.storage_key), store.reader(rec.storage_key)
    except BlobNotFound:
        raise NotFound(f"The bytes of container file '{file_id}' are gone.") from None


def record_outputs(session: Session, container_id: str, tenant: str,
                   produced: dict[str, str]) -> None:
    """Files the code wrote (path -> file id) become the container's files at their paths."""
    container = session.exec(select(ContainerRecord).where(
        ContainerRecord.id == container_id, ContainerRecord.tenant == tenant)).first()
    if container is None:  # deleted while the code ran
        return
    recs = {r.id: r for r in session.exec(select(FileRecord).where(
        col(FileRecord.id).in_(list(produced.values())))).all()} if produced else {}
    for path, file_id in produced.items():
        if file_id in recs:
            _place(session, container, path, recs[file_id], "assistant")
    touch(session, container)
