"""Assistant records to wire objects."""

from __future__ import annotations

from typing import Any

from orchestrator.faces.assistants.mappers.tools import file_ids_for_v1, resources_for_v2, tools_for
from orchestrator.faces.assistants.schemas.assistant import Assistant, AssistantFile, AssistantV1
from orchestrator.faces.assistants.schemas.common import Version
from orchestrator.models import AssistantRecord


def assistant(rec: AssistantRecord, version: Version) -> Assistant | AssistantV1:
    """The assistant as the given API version shows it."""
    v1_ids = [link["id"] for link in rec.file_links]
    common: dict[str, Any] = {
        "id": rec.id,
        "created_at": rec.created_at,
        "name": rec.name,
        "description": rec.description,
        "model": rec.model,
        "instructions": rec.instructions,
        "tools": tools_for(version, rec.tools),
        "metadata": rec.meta if rec.meta is not None else {},
        "temperature": rec.temperature,
        "top_p": rec.top_p,
        "response_format": rec.response_format if rec.response_format is not None else "auto",
    }
    if version == "v1":
        return AssistantV1(file_ids=file_ids_for_v1(rec.tool_resources, v1_ids), **common)
    return Assistant(tool_resources=resources_for_v2(rec.tool_resources, v1_ids), **common)


def assistant_file(rec: AssistantRecord, link: dict[str, Any]) -> AssistantFile:
    """A v1 assistant file object."""
    return AssistantFile(id=link["id"], created_at=link["created_at"], assistant_id=rec.id)
