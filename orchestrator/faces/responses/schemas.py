"""Request bodies of /v1/responses and /v1/conversations (responses are built in mappers)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from orchestrator.api.wire import Metadata, Request


class Body(Request):
    """A request body: unknown fields are refused, as the hosted API does; no NUL."""


class CreateResponse(Body):
    """POST /v1/responses."""

    model: str | None = Field(default=None, max_length=256)
    input: str | list[dict[str, Any]] | None = None
    instructions: str | None = None
    previous_response_id: str | None = None
    conversation: str | dict[str, Any] | None = None
    store: bool | None = None
    background: bool | None = None
    stream: bool | None = None
    stream_options: dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    max_output_tokens: int | None = Field(default=None, ge=16)
    max_tool_calls: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    text: dict[str, Any] | None = None
    truncation: Literal["auto", "disabled"] | None = None
    metadata: Metadata = None
    include: list[str] | None = None
    reasoning: dict[str, Any] | None = None
    user: str | None = None
    safety_identifier: str | None = None
    prompt_cache_key: str | None = None
    prompt_cache_retention: str | None = None
    service_tier: str | None = None
    prompt: dict[str, Any] | None = None


class InputTokens(Body):
    """POST /v1/responses/input_tokens: what a response with these fields would read."""

    model: str | None = None
    input: str | list[dict[str, Any]] | None = None
    instructions: str | None = None
    previous_response_id: str | None = None
    conversation: str | dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    text: dict[str, Any] | None = None
    reasoning: dict[str, Any] | None = None
    truncation: Literal["auto", "disabled"] | None = None


class CreateConversation(Body):
    """POST /v1/conversations."""

    items: list[dict[str, Any]] | None = Field(default=None, max_length=20)
    metadata: Metadata = None


class UpdateConversation(Body):
    """POST /v1/conversations/{id}."""

    metadata: Metadata


class CreateItems(Body):
    """POST /v1/conversations/{id}/items."""

    items: list[dict[str, Any]] = Field(min_length=1, max_length=20)


class CreateContainer(Body):
    """POST /v1/containers."""

    name: str | None = Field(default=None, max_length=256)
    file_ids: list[str] | None = Field(default=None, max_length=100)
    expires_after: dict[str, Any] | None = None
    memory_limit: str | None = None
    network_policy: dict[str, Any] | None = None
    skills: list[dict[str, Any]] | None = None


class CreateContainerFile(Body):
    """POST /v1/containers/{id}/files as JSON: a file of the tenant by id."""

    file_id: str = Field(max_length=64)
