"""Where assistants, threads and messages meet vector stores (tool_resources, attachments)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from orchestrator.errors import InvalidRequest, NotFound
from orchestrator.faces.assistants.schemas.common import FileSearchResources
from orchestrator.faces.assistants.services import vector_stores as stores
from orchestrator.models import MessageRecord, ThreadRecord, VectorStoreRecord
from orchestrator.retrieval.stores import add_file, add_v1_files, new_store, store_ids
from orchestrator.storage.files import require_files

__all__ = ["add_v1_files", "after_message", "file_search_resources", "land_attachments"]
# The stored expires_after of a thread's helper store (v2 attachments): 7 days after last use.
THREAD_STORE_EXPIRY: dict[str, Any] = {"anchor": "last_active_at", "days": 7}


def file_search_resources(session: Session, tenant: str, fs: FileSearchResources,
                          param: str) -> dict[str, Any]:
    """Stored `tool_resources.file_search`: ids checked, `vector_stores` helpers created."""
    ids = list(fs.vector_store_ids or [])
    if ids and fs.vector_stores:
        raise InvalidRequest("Give either vector_store_ids or vector_stores, not both.",
                             param=param)
    for i, store_id in enumerate(ids):
        try:
            stores.get(session, tenant, store_id)
        except NotFound as exc:
            raise InvalidRequest(exc.message, param=f"{param}.vector_store_ids[{i}]") from None
    for i, spec in enumerate(fs.vector_stores or []):
        require_files(session, tenant, spec.file_ids, f"{param}.vector_stores[{i}].file_ids")
        rec = new_store(session, tenant, metadata=spec.metadata)
        strategy = stores.strategy_of(spec.chunking_strategy)
        for file_id in dict.fromkeys(spec.file_ids):
            add_file(session, rec, file_id, strategy)
        ids.append(rec.id)
    return {"vector_store_ids": ids}


def land_attachments(session: Session, thread: ThreadRecord, msg: MessageRecord) -> None:
    """v2: files attached for file_search go into the thread's store (made when missing)."""
    wanted = [a["file_id"] for a in msg.attachments or []
              if any(t.get("type") == "file_search" for t in a.get("tools", []))]
    if not wanted:
        return
    ids = store_ids(thread.tool_resources)
    store = session.exec(select(VectorStoreRecord).where(
        VectorStoreRecord.id == ids[0])).first() if ids else None
    if store is None:
        store = new_store(session, thread.tenant, expires_after=THREAD_STORE_EXPIRY)
        resources = dict(thread.tool_resources or {})
        resources["file_search"] = {"vector_store_ids": [store.id]}
        thread.tool_resources = resources
        session.add(thread)
    for file_id in dict.fromkeys(wanted):
        add_file(session, store, file_id, stores.strategy_of(None))


def after_message(session: Session, version: str, thread: ThreadRecord,
                  msg: MessageRecord) -> None:
    """A new message's files become searchable: the thread's store (v2), the v1 store (v1)."""
    if version == "v1":
        add_v1_files(session, thread.tenant, [a["file_id"] for a in msg.attachments or []])
    else:
        land_attachments(session, thread, msg)
