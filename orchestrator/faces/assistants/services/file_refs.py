"""A deleted file leaves every place that names it: stores, assistants, threads, messages."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import String, cast, or_
from sqlmodel import Session, col, select

from orchestrator.models import AssistantRecord, MessageRecord, ThreadRecord
from orchestrator.retrieval.index import forget_file

CODE = "code_interpreter"


def _naming(model: Any, columns: list[Any], tenant: str, file_ids: Collection[str]) -> Any:
    """Rows of the tenant whose JSON columns mention any of the ids (a text prefilter: the
    caller checks the parsed values)."""
    texts = [cast(c, String) for c in columns]
    return select(model).where(col(model.tenant) == tenant,
                               or_(*(t.contains(f) for t in texts for f in file_ids)))


def _without_code_files(resources: dict[str, Any] | None,
                        gone: Collection[str]) -> dict[str, Any] | None:
    """tool_resources with the ids left out of code_interpreter.file_ids (None if unchanged)."""
    files = ((resources or {}).get(CODE) or {}).get("file_ids") or []
    kept = [f for f in files if f not in gone]
    if len(kept) == len(files):
        return None
    assert resources is not None
    return {**resources, CODE: {**resources[CODE], "file_ids": kept}}


def _assistants(session: Session, tenant: str, gone: Collection[str]) -> None:
    for rec in session.exec(_naming(AssistantRecord, [AssistantRecord.file_links,
                                                      AssistantRecord.tool_resources],
                                    tenant, gone)).all():
        links = [link for link in rec.file_links if link["id"] not in gone]
        resources = _without_code_files(rec.tool_resources, gone)
        if len(links) != len(rec.file_links):
            rec.file_links = links
        if resources is not None:
            rec.tool_resources = resources
        session.add(rec)


def _threads(session: Session, tenant: str, gone: Collection[str]) -> None:
    for rec in session.exec(_naming(ThreadRecord, [ThreadRecord.tool_resources], tenant,
                                    gone)).all():
        resources = _without_code_files(rec.tool_resources, gone)
        if resources is not None:
            rec.tool_resources = resources
            session.add(rec)


def _messages(session: Session, tenant: str, gone: Collection[str]) -> None:
    for rec in session.exec(_naming(MessageRecord, [MessageRecord.attachments], tenant,
                                    gone)).all():
        kept = [a for a in rec.attachments or [] if a.get("file_id") not in gone]
        if len(kept) != len(rec.attachments or []):
            rec.attachments = kept
            session.add(rec)


def detach(session: Session, tenant: str, file_ids: Collection[str]) -> None:
    """Take deleted files out of the tenant's vector stores (chunks and store rows: the
    counts follow), v1 assistant files, code-interpreter resources and message
    attachments (v1 `file_ids`), in the caller's transaction."""
    gone = set(file_ids)
    if not gone:
        return
    for file_id in gone:
        forget_file(session, tenant, file_id)
    _assistants(session, tenant, gone)
    _threads(session, tenant, gone)
    _messages(session, tenant, gone)
    session.flush()
