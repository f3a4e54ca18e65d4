"""Messages: add to a thread (also used by thread creation), read, modify, delete."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import bindparam, false
from sqlmodel import Session, col, select

from orchestrator.engine.lock import ensure_unlocked
from orchestrator.errors import InvalidRequest, not_found
from orchestrator.faces.assistants.mappers.message import attachments_from_v1, file_ids_for_v1
from orchestrator.faces.assistants.schemas.common import Version
from orchestrator.faces.assistants.schemas.message import (
    CreateMessage,
    ImageFilePart,
    ImageUrlPart,
    ModifyMessage,
    TextPart,
)
from orchestrator.faces.assistants.services import store_links
from orchestrator.faces.assistants.services.common import apply_metadata, get_owned, reject_field
from orchestrator.faces.assistants.services.files import require_files
from orchestrator.ids import new_id
from orchestrator.models import MessageRecord, ThreadRecord
from orchestrator.models.message import CHAT_ROLES
from orchestrator.pagination import ListPage, PageParams

W = TypeVar("W")

# Built once: executions hit the compiled cache without re-keying.
MESSAGE_IN_THREAD = select(MessageRecord).where(
    col(MessageRecord.id) == bindparam("message_id"),
    col(MessageRecord.thread_id) == bindparam("thread_id"),
    col(MessageRecord.tenant) == bindparam("tenant"))


def storable(value: str) -> bool:
    """PostgreSQL text cannot hold NUL, so an id with one names nothing (and is not queried)."""
    return "\x00" not in value


def get_thread(session: Session, tenant: str, thread_id: str) -> ThreadRecord:
    """The tenant's thread, or 404 (one lookup by primary id)."""
    if not storable(thread_id):
        raise not_found("thread", thread_id)
    return get_owned(session, ThreadRecord, tenant, thread_id, "thread")


def list_scope(session: Session, tenant: str, thread_id: str,
               run_id: str | None) -> list[Any]:
    """Filters of a thread's message list, after checking the thread."""
    get_thread(session, tenant, thread_id)
    return scope_of(tenant, thread_id, run_id)


def scope_of(tenant: str, thread_id: str, run_id: str | None) -> list[Any]:
    """Filters of a thread's message list: the tenant's chat messages of the thread (and run).

    Scoped by thread (and run) so the (thread_id[, run_id], seq) index serves each page.
    """
    scope: list[Any] = [MessageRecord.thread_id == thread_id, MessageRecord.tenant == tenant,
                        col(MessageRecord.role).in_(CHAT_ROLES)]  # not a response's tool turns
    if run_id is not None:
        scope.append(MessageRecord.run_id == run_id if storable(run_id) else false())
    return scope


def thread_page(session: Session, tenant: str, thread_id: str, params: PageParams,
                fetch: Callable[[], ListPage[W]]) -> ListPage[W]:
    """`fetch()`, a page of the tenant's rows in the thread, or 404 for a missing thread.

    A page with rows shows the thread exists (rows go with their thread, ON DELETE CASCADE),
    so only an empty page looks the thread up. With a cursor the thread is looked up first:
    a missing thread is then a 404, not an unknown cursor.
    """
    if params.after or params.before or not storable(thread_id):
        get_thread(session, tenant, thread_id)
        return fetch()
    result = fetch()
    if not result.data:
        get_thread(session, tenant, thread_id)
    return result


def reject_at(body: Any, field: str, version: Version, prefix: str) -> None:
    """services.common.reject_field, with the field located inside the request."""
    try:
        reject_field(body, field, version)
    except InvalidRequest as exc:
        exc.param = prefix + field
        raise


def _require_refs(session: Session, tenant: str, refs: list[tuple[str, str]]) -> None:
    """Every referenced file is the tenant's: one query, then the exact param on failure."""
    for fid, param in refs:
        if not storable(fid):
            raise InvalidRequest(f"No file found with id '{fid}'.", param=param)
    try:
        require_files(session, tenant, [fid for fid, _ in refs], "file_ids")
    except InvalidRequest:
        for fid, param in refs:
            try:
                require_files(session, tenant, [fid], param)
            except InvalidRequest as exc:
                exc.param = param
                raise
        raise


def _content(body: CreateMessage, version: Version, prefix: str,
             refs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Wire-shaped content parts; image file ids are collected into `refs`."""
    if isinstance(body.content, str):
        return [{"type": "text", "text": {"value": body.content, "annotations": []}}]
    out: list[dict[str, Any]] = []
    for i, part in enumerate(body.content):
        if isinstance(part, TextPart):
            out.append({"type": "text", "text": {"value": part.text, "annotations": []}})
        elif isinstance(part, ImageFilePart):
            refs.append((part.image_file.file_id, f"{prefix}content[{i}].image_file.file_id"))
            out.append({"type": "image_file",
                        "image_file": part.image_file.model_dump(exclude_none=True)})
        elif isinstance(part, ImageUrlPart):
            if version == "v1":
                raise InvalidRequest("Image URL content needs 'OpenAI-Beta: assistants=v2'.",
                                     param=f"{prefix}content[{i}].type")
            out.append({"type": "image_url",
                        "image_url": part.image_url.model_dump(exclude_none=True)})
    return out


def _attachments(body: CreateMessage, version: Version, prefix: str,
                 refs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Stored attachments from v2 `attachments` or v1 `file_ids` (see mappers.message)."""
    if version == "v1":
        reject_at(body, "attachments", version, prefix)
        ids = body.file_ids or []
        refs.extend((fid, f"{prefix}file_ids[{i}]") for i, fid in enumerate(ids))
        return attachments_from_v1(ids)
    reject_at(body, "file_ids", version, prefix)
    out = []
    for i, att in enumerate(body.attachments or []):
        refs.append((att.file_id, f"{prefix}attachments[{i}].file_id"))
        out.append({"file_id": att.file_id, "tools": [t.model_dump() for t in att.tools]})
    return out


def build(session: Session, tenant: str, version: Version, thread_id: str, body: CreateMessage,
          prefix: str = "") -> MessageRecord:
    """A validated, unsaved user-created message; `prefix` locates it in the request."""
    refs: list[tuple[str, str]] = []
    attachments = _attachments(body, version, prefix, refs)
    content = _content(body, version, prefix, refs)
    _require_refs(session, tenant, refs)
    return MessageRecord(id=new_id("message"), tenant=tenant, thread_id=thread_id,
                         role=body.role, content=content, attachments=attachments,
                         status="completed", meta=body.metadata)


def create(session: Session, tenant: str, version: Version, thread_id: str,
           body: CreateMessage) -> MessageRecord:
    """Add a message to the tenant's thread (not while a run is active on it)."""
    thread = get_thread(session, tenant, thread_id)
    ensure_unlocked(session, thread_id, for_run=False)
    rec = build(session, tenant, version, thread_id, body)
    session.add(rec)
    session.flush()
    store_links.after_message(session, version, thread, rec)
    return rec


def get(session: Session, tenant: str, thread_id: str, message_id: str) -> MessageRecord:
    """A message of the tenant's thread, or 404 (for the thread first, then the message).

    One lookup when the message is there: messages go with their thread (ON DELETE CASCADE);
    a miss looks the thread up for the right 404.
    """
    if storable(message_id) and storable(thread_id):
        rec = session.exec(MESSAGE_IN_THREAD, params={
            "message_id": message_id, "thread_id": thread_id, "tenant": tenant}).first()
        if rec is not None:
            return rec
    get_thread(session, tenant, thread_id)
    raise not_found("message", message_id)


def modify(session: Session, tenant: str, thread_id: str, message_id: str,
           body: ModifyMessage) -> MessageRecord:
    """Change the metadata when sent."""
    return apply_metadata(session, get(session, tenant, thread_id, message_id), body)


def delete(session: Session, tenant: str, thread_id: str, message_id: str) -> None:
    """Remove the message."""
    session.delete(get(session, tenant, thread_id, message_id))
    session.flush()


def file_ids(rec: MessageRecord) -> list[str]:
    """The v1 file ids of a message, in attachment order."""
    return file_ids_for_v1(rec.attachments)


def require_file(rec: MessageRecord, file_id: str) -> str:
    """v1: a file attached to the message, or 404."""
    if file_id not in file_ids(rec):
        raise not_found("file", file_id)
    return file_id
