"""Which stores (and, for v1, which files) a run's search covers, indexed before it searches."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session, col, select

from orchestrator.db import unit_of_work
from orchestrator.models import (
    AssistantRecord,
    MessageRecord,
    RunRecord,
    ThreadRecord,
    VectorStoreFileRecord,
    VectorStoreRecord,
)
from orchestrator.models.message import attachment_file_ids
from orchestrator.retrieval.ingest import ingest
from orchestrator.retrieval.stores import add_v1_files, expired, store_ids


@dataclass(frozen=True)
class Scope:
    """Stores to search; `file_ids` restricts the hits (v1), None means every file."""

    store_ids: list[str]
    file_ids: list[str] | None


def _v2(session: Session, run: RunRecord) -> Scope:
    asst = session.exec(select(AssistantRecord).where(
        AssistantRecord.id == run.assistant_id)).first()
    thread = session.exec(select(ThreadRecord).where(ThreadRecord.id == run.thread_id)).first()
    wanted = store_ids(asst.tool_resources if asst else None) + store_ids(
        thread.tool_resources if thread else None) + [
        sid for tool in run.tools if tool.get("type") == "file_search"
        for sid in tool.get("vector_store_ids") or []]  # a run's own (a response's tool)
    found = session.exec(select(VectorStoreRecord).where(
        col(VectorStoreRecord.id).in_(wanted), VectorStoreRecord.tenant == run.tenant)).all()
    return Scope([s.id for s in found if not expired(s)], None)


def _v1_files(session: Session, run: RunRecord) -> list[str]:
    attachments = session.exec(select(MessageRecord.attachments).where(
        MessageRecord.thread_id == run.thread_id)).all()
    from_messages = [f for a in attachments for f in attachment_file_ids(list(a or []))]
    return list(dict.fromkeys([*run.file_ids, *from_messages]))


def resolve(session: Session, run: RunRecord, tool_name: str) -> Scope:
    """v2 `file_search`: the assistant's, thread's and run's stores; v1 `retrieval`: the
    run's and the thread's message files, in the tenant's hidden v1 store."""
    if tool_name != "retrieval":
        return _v2(session, run)
    files = _v1_files(session, run)
    if not files:
        return Scope([], [])
    with unit_of_work() as own:  # committed before we index: a separate transaction
        store = add_v1_files(own, run.tenant, files)
    return Scope([store.id] if store else [], files)


def index_pending(scope: Scope, keep_alive: Callable[[], None] = lambda: None) -> int:
    """Index, here and now, files of the scope still waiting (idempotent with the queued
    task: whichever finishes first wins the compare-and-set); how many were waiting.
    `keep_alive` runs before each file (the run's lease is renewed meanwhile)."""
    if not scope.store_ids:
        return 0
    with unit_of_work() as session:
        stmt = select(VectorStoreFileRecord.vector_store_id, VectorStoreFileRecord.id).where(
            col(VectorStoreFileRecord.vector_store_id).in_(scope.store_ids),
            VectorStoreFileRecord.status == "in_progress")
        if scope.file_ids is not None:
            stmt = stmt.where(col(VectorStoreFileRecord.id).in_(scope.file_ids))
        pending = list(session.exec(stmt).all())
    for store_id, file_id in pending:
        keep_alive()
        ingest(store_id, file_id)
    return len(pending)
