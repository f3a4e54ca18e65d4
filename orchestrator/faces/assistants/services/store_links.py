"""Where assistants, threads and messages meet vector stores (tool_resources, attachments)."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from orchestrator.errors import InvalidRequest, NotFound
from orchestrator.faces.assistants.schemas.common import FileSearchResources
from orchestrator.faces.assistants.schemas.vector_store import ExpiresAfter
from orchestrator.faces.assistants.services import vector_stores as stores
from orchestrator.faces.assistants.services.files import require_files
from orchestrator.models import (
    MessageRecord,
    ThreadRecord,
    VectorStoreFileRecord,
    VectorStoreRecord,
)

THREAD_STORE_EXPIRY = ExpiresAfter(anchor="last_active_at", days=7)


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
        rec = stores.new_store(session, tenant, metadata=spec.metadata)
        strategy = stores.strategy_of(spec.chunking_strategy)
        for file_id in dict.fromkeys(spec.file_ids):
            stores.add_file(session, rec, file_id, strategy)
        ids.append(rec.id)
    return {"vector_store_ids": ids}


def store_ids(resources: dict[str, Any] | None) -> list[str]:
    """The vector store ids of stored tool_resources."""
    return list(((resources or {}).get("file_search") or {}).get("vector_store_ids") or [])


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
        store = stores.new_store(session, thread.tenant, expires_after=THREAD_STORE_EXPIRY)
        resources = dict(thread.tool_resources or {})
        resources["file_search"] = {"vector_store_ids": [store.id]}
        thread.tool_resources = resources
        session.add(thread)
    for file_id in dict.fromkeys(wanted):
        stores.add_file(session, store, file_id, stores.strategy_of(None))


def v1_store(session: Session, tenant: str) -> VectorStoreRecord:
    """The tenant's hidden store holding files searched by v1 `retrieval`."""
    store_id = "vs_v1" + hashlib.sha256(tenant.encode()).hexdigest()[:24]
    rec = session.exec(select(VectorStoreRecord).where(VectorStoreRecord.id == store_id)).first()
    if rec is not None:
        return rec
    try:
        with session.begin_nested():
            return stores.new_store(session, tenant, name="v1 retrieval files", internal=True,
                                    store_id=store_id)
    except IntegrityError:  # another request made it first
        found = session.exec(select(VectorStoreRecord).where(
            VectorStoreRecord.id == store_id)).one()
        return found


def add_v1_files(session: Session, tenant: str, file_ids: list[str]) -> VectorStoreRecord | None:
    """v1: queue files not yet in the tenant's hidden retrieval store; the store (if any)."""
    if not file_ids:
        return None
    store = v1_store(session, tenant)
    have = set(session.exec(select(VectorStoreFileRecord.id).where(
        VectorStoreFileRecord.vector_store_id == store.id,
        col(VectorStoreFileRecord.id).in_(file_ids))).all())
    for file_id in dict.fromkeys(file_ids):
        if file_id not in have:
            stores.add_file(session, store, file_id, stores.strategy_of(None))
    return store


def after_message(session: Session, version: str, thread: ThreadRecord,
                  msg: MessageRecord) -> None:
    """A new message's files become searchable: the thread's store (v2), the v1 store (v1)."""
    if version == "v1":
        add_v1_files(session, thread.tenant, [a["file_id"] for a in msg.attachments or []])
    else:
        land_attachments(session, thread, msg)
