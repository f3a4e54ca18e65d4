"""Threads: create (with initial messages), modify, delete (with its messages)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col
from sqlmodel import delete as sql_delete

from orchestrator.db import insert
from orchestrator.errors import InvalidRequest
from orchestrator.faces.assistants.schemas.common import MAX_CODE_FILES, Version
from orchestrator.faces.assistants.schemas.thread import CreateThread, ModifyThread
from orchestrator.faces.assistants.services import messages, store_links
from orchestrator.faces.assistants.services.assistants import check_tool_resources
from orchestrator.faces.assistants.services.common import reject_field
from orchestrator.ids import new_id
from orchestrator.models import MessageRecord, ThreadRecord


def get(session: Session, tenant: str, thread_id: str) -> ThreadRecord:
    """The tenant's thread, or 404."""
    return messages.get_thread(session, tenant, thread_id)


def union_resources(ours: dict[str, Any] | None, extra: dict[str, Any] | None,
                    param: str) -> dict[str, Any] | None:
    """Stored tool resources joined per tool: file ids and vector store ids in order, without
    duplicates; more code-interpreter files than a thread may have is a 400 at `param`."""
    if not extra:
        return ours
    merged: dict[str, Any] = {k: dict(v) for k, v in (ours or {}).items()}
    for tool, resources in extra.items():
        mine = merged.setdefault(tool, {})
        for key, ids in resources.items():
            mine[key] = list(dict.fromkeys([*(mine.get(key) or []), *ids]))
    files = (merged.get("code_interpreter") or {}).get("file_ids") or []
    if len(files) > MAX_CODE_FILES:
        raise InvalidRequest(
            f"A thread can have at most {MAX_CODE_FILES} code_interpreter files; the thread's"
            f" and the top-level tool_resources together name {len(files)}.",
            param=f"{param}.code_interpreter.file_ids")
    return merged


def create(session: Session, tenant: str, version: Version, body: CreateThread,
           prefix: str = "", also: dict[str, Any] | None = None) -> ThreadRecord:
    """Record a thread and its initial messages (in the order given, oldest first).

    `prefix` locates the thread inside a larger request (e.g. "thread." of create-and-run);
    `also` are checked tool resources joining the thread's own (create-and-run's top level).
    """
    if version == "v1":
        messages.reject_at(body, "tool_resources", version, prefix)
    resources = union_resources(check_tool_resources(
        session, tenant, body.tool_resources, f"{prefix}tool_resources"), also,
        "tool_resources")
    rec = ThreadRecord(id=new_id("thread"), tenant=tenant, tool_resources=resources,
                       meta=body.metadata)
    initial = [messages.build(session, tenant, version, rec.id, m, f"{prefix}messages[{i}].")
               for i, m in enumerate(body.messages or [])]
    if any(msg.attachments for msg in initial):  # land_attachments updates the thread
        session.add(rec)
        session.flush()  # the thread row first: messages reference it
    else:
        insert(session, rec)
    for msg in initial:
        insert(session, msg)  # one at a time (Core), so `seq` follows the request's order
        store_links.after_message(session, version, rec, msg)
    return rec


def modify(session: Session, tenant: str, version: Version, thread_id: str,
           body: ModifyThread) -> ThreadRecord:
    """Change the fields the request sent."""
    rec = get(session, tenant, thread_id)
    if version == "v1":
        reject_field(body, "tool_resources", version)
    sent = body.model_fields_set
    if "tool_resources" in sent:
        rec.tool_resources = check_tool_resources(session, tenant, body.tool_resources)
    if "metadata" in sent:
        rec.meta = body.metadata
    session.add(rec)
    session.flush()
    return rec


def delete(session: Session, tenant: str, thread_id: str) -> None:
    """Remove the thread and its messages (explicitly, not only through the FK cascade)."""
    rec = get(session, tenant, thread_id)
    session.exec(sql_delete(MessageRecord).where(col(MessageRecord.thread_id) == rec.id))
    session.delete(rec)
    session.flush()
