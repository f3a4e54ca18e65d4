"""Thread request bodies and wire objects (v2, with the v1 variant)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from orchestrator.faces.assistants.schemas.common import Metadata, Request, ToolResources, Wire
from orchestrator.faces.assistants.schemas.message import CreateMessage

MAX_INITIAL_MESSAGES = 32


class CreateThread(Request):
    """POST /threads; every field is optional."""

    messages: list[CreateMessage] | None = Field(default=None, max_length=MAX_INITIAL_MESSAGES)
    tool_resources: ToolResources | None = None
    metadata: Metadata = None


class ModifyThread(Request):
    """POST /threads/{id}: only the fields sent change (tool_resources is v2 only)."""

    tool_resources: ToolResources | None = None
    metadata: Metadata = None


class Thread(Wire):
    """The v2 thread object."""

    id: str
    object: Literal["thread"] = "thread"
    created_at: int
    tool_resources: dict[str, Any] | None
    metadata: dict[str, str] | None


class ThreadV1(Wire):
    """The v1 thread object (no tool_resources)."""

    id: str
    object: Literal["thread"] = "thread"
    created_at: int
    metadata: dict[str, str] | None
