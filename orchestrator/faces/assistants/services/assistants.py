"""Assistants: create, modify, delete, and v1 attached files."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from orchestrator.errors import InvalidRequest, not_found
from orchestrator.faces.assistants.schemas.assistant import (
    AssistantFields,
    CreateAssistant,
    ModifyAssistant,
)
from orchestrator.faces.assistants.schemas.common import ToolResources, Version
from orchestrator.faces.assistants.services.common import (
    check_tools_version,
    get_owned,
    reject_field,
)
from orchestrator.faces.assistants.services.files import require_files
from orchestrator.faces.assistants.services.store_links import add_v1_files, file_search_resources
from orchestrator.ids import new_id
from orchestrator.models import AssistantRecord
from orchestrator.models.base import now


def get(session: Session, tenant: str, assistant_id: str) -> AssistantRecord:
    """The tenant's assistant, or 404."""
    return get_owned(session, AssistantRecord, tenant, assistant_id, "assistant")


def check_tool_resources(session: Session, tenant: str, resources: ToolResources | None,
                         param: str = "tool_resources") -> dict[str, Any] | None:
    """Validate v2 tool_resources and return them as stored."""
    if resources is None:
        return None
    if resources.code_interpreter is not None:
        require_files(session, tenant, resources.code_interpreter.file_ids,
                      f"{param}.code_interpreter.file_ids")
    stored = resources.model_dump(exclude_none=True)
    if resources.file_search is not None:
        stored["file_search"] = file_search_resources(session, tenant, resources.file_search,
                                                      f"{param}.file_search")
    return stored


def _validate(session: Session, tenant: str, version: Version, body: AssistantFields) -> None:
    check_tools_version(version, body.tools)
    if version == "v1":
        reject_field(body, "tool_resources", version)
        reject_field(body, "reasoning_effort", version)
        require_files(session, tenant, body.file_ids or [], "file_ids")
    else:
        reject_field(body, "file_ids", version)


def _apply(session: Session, tenant: str, rec: AssistantRecord, body: AssistantFields) -> None:
    sent = body.model_fields_set
    for field in ("name", "description", "instructions", "temperature", "top_p",
                  "reasoning_effort", "model"):
        if field in sent and (field != "model" or getattr(body, field) is not None):
            setattr(rec, field, getattr(body, field))
    if "tools" in sent:
        rec.tools = [t.model_dump(exclude_none=True, by_alias=True) for t in body.tools or []]
    if "metadata" in sent:
        rec.meta = body.metadata
    if "response_format" in sent:
        fmt = body.response_format
        rec.response_format = fmt if isinstance(fmt, str) or fmt is None else fmt.model_dump(
            exclude_none=True, by_alias=True)
    if "tool_resources" in sent:
        rec.tool_resources = check_tool_resources(session, tenant, body.tool_resources)
    if "file_ids" in sent:
        old = {link["id"]: link["created_at"] for link in rec.file_links}
        ts = now()
        rec.file_links = [{"id": f, "created_at": old.get(f, ts)}
                          for f in dict.fromkeys(body.file_ids or [])]
        add_v1_files(session, tenant, [link["id"] for link in rec.file_links])


def create(
    session: Session, tenant: str, version: Version, body: CreateAssistant
) -> AssistantRecord:
    """Record a new assistant."""
    _validate(session, tenant, version, body)
    rec = AssistantRecord(id=new_id("assistant"), tenant=tenant, model=body.model)
    _apply(session, tenant, rec, body)
    session.add(rec)
    session.flush()
    return rec


def modify(session: Session, tenant: str, version: Version, assistant_id: str,
           body: ModifyAssistant) -> AssistantRecord:
    """Change the fields the request sent."""
    rec = get(session, tenant, assistant_id)
    _validate(session, tenant, version, body)
    _apply(session, tenant, rec, body)
    session.add(rec)
    session.flush()
    return rec


def delete(session: Session, tenant: str, assistant_id: str) -> None:
    """Remove the assistant."""
    session.delete(get(session, tenant, assistant_id))
    session.flush()


def attach_file(session: Session, tenant: str, assistant_id: str, file_id: str) -> dict[str, Any]:
    """v1: attach a file (at most 20); attaching twice returns the existing link."""
    rec = get(session, tenant, assistant_id)
    try:
        require_files(session, tenant, [file_id], "file_id")
    except InvalidRequest as exc:
        exc.param = "file_id"
        raise
    for link in rec.file_links:
        if link["id"] == file_id:
            return link
    if len(rec.file_links) >= 20:
        raise InvalidRequest("An assistant can have at most 20 files attached.", param="file_id")
    link = {"id": file_id, "created_at": now()}
    rec.file_links = [*rec.file_links, link]
    add_v1_files(session, tenant, [file_id])
    session.add(rec)
    return link


def file_link(session: Session, tenant: str, assistant_id: str, file_id: str) -> tuple[
        AssistantRecord, dict[str, Any]]:
    """v1: one attached file, or 404."""
    rec = get(session, tenant, assistant_id)
    for link in rec.file_links:
        if link["id"] == file_id:
            return rec, link
    raise not_found("file", file_id)


def detach_file(session: Session, tenant: str, assistant_id: str, file_id: str) -> None:
    """v1: detach a file."""
    rec, link = file_link(session, tenant, assistant_id, file_id)
    rec.file_links = [x for x in rec.file_links if x["id"] != link["id"]]
    session.add(rec)
