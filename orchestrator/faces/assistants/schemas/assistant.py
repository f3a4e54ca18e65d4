"""Assistant request bodies and wire objects (v2, with the v1 variant)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from orchestrator.faces.assistants.schemas.common import (
    Metadata,
    Request,
    ResponseFormat,
    Tool,
    ToolResources,
    Wire,
)

ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]


class AssistantFields(Request):
    """Fields shared by create and modify; v1 sends `file_ids`, v2 `tool_resources`."""

    name: str | None = Field(default=None, max_length=256)
    description: str | None = Field(default=None, max_length=512)
    instructions: str | None = Field(default=None, max_length=256_000)
    tools: list[Tool] | None = Field(default=None, max_length=128)
    tool_resources: ToolResources | None = None
    file_ids: list[str] | None = Field(default=None, max_length=20)
    metadata: Metadata = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    response_format: ResponseFormat | None = None
    reasoning_effort: ReasoningEffort | None = None


class CreateAssistant(AssistantFields):
    """POST /assistants."""

    model: str = Field(min_length=1, max_length=256)


class ModifyAssistant(AssistantFields):
    """POST /assistants/{id}: only the fields sent change."""

    model: str | None = Field(default=None, min_length=1, max_length=256)


class CreateAssistantFile(Request):
    """POST /assistants/{id}/files (v1)."""

    file_id: str


class AssistantBase(Wire):
    """Fields every API version's assistant object has."""

    id: str
    object: Literal["assistant"] = "assistant"
    created_at: int
    name: str | None
    description: str | None
    model: str
    instructions: str | None
    tools: list[dict[str, Any]]
    metadata: dict[str, str] | None
    temperature: float | None
    top_p: float | None
    response_format: Any


class Assistant(AssistantBase):
    """The v2 assistant object."""

    tool_resources: dict[str, Any] | None


class AssistantV1(AssistantBase):
    """The v1 assistant object (`file_ids` instead of `tool_resources`)."""

    file_ids: list[str]


class AssistantFile(Wire):
    """The v1 assistant file object."""

    id: str
    object: Literal["assistant.file"] = "assistant.file"
    created_at: int
    assistant_id: str
