"""Run request bodies and wire objects (v2, with the v1 variant)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from orchestrator.faces.assistants.schemas.assistant import ReasoningEffort
from orchestrator.faces.assistants.schemas.common import (
    INT32,
    Metadata,
    Request,
    ResponseFormat,
    Tool,
    ToolResources,
    Wire,
)
from orchestrator.faces.assistants.schemas.message import CreateMessage
from orchestrator.faces.assistants.schemas.thread import CreateThread


class TruncationStrategy(Request):
    """How the thread is cut to fit the prompt."""

    type: Literal["auto", "last_messages"]
    last_messages: int | None = Field(default=None, ge=1, le=INT32)


class NamedFunction(Request):
    """{"name": ...} of a forced function."""

    name: str


class NamedToolChoice(Request):
    """Force one tool."""

    type: Literal["function", "code_interpreter", "file_search", "retrieval"]
    function: NamedFunction | None = None

    @model_validator(mode="after")
    def _function_named(self) -> NamedToolChoice:
        if self.type == "function" and self.function is None:
            raise ValueError("tool_choice of type 'function' needs function.name")
        return self


ToolChoice = Literal["none", "auto", "required"] | NamedToolChoice


class RunOptions(Request):
    """Per-run overrides shared by create-run and create-thread-and-run."""

    assistant_id: str
    model: str | None = Field(default=None, max_length=256)
    instructions: str | None = Field(default=None, max_length=256_000)
    tools: list[Tool] | None = Field(default=None, max_length=128)
    metadata: Metadata = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    stream: bool | None = None
    max_prompt_tokens: int | None = Field(default=None, ge=256, le=INT32)
    max_completion_tokens: int | None = Field(default=None, ge=256, le=INT32)
    truncation_strategy: TruncationStrategy | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    reasoning_effort: ReasoningEffort | None = None
    file_ids: list[str] | None = Field(default=None, max_length=20)
    webhook_url: str | None = Field(default=None, max_length=2048)  # our extension


class CreateRun(RunOptions):
    """POST /threads/{thread_id}/runs."""

    additional_instructions: str | None = Field(default=None, max_length=256_000)
    additional_messages: list[CreateMessage] | None = Field(default=None, max_length=32)


class CreateThreadAndRun(RunOptions):
    """POST /threads/runs."""

    thread: CreateThread | None = None
    tool_resources: ToolResources | None = None


class ModifyRun(Request):
    """POST /threads/{thread_id}/runs/{run_id}: metadata only."""

    metadata: Metadata = None


class ToolOutput(Request):
    """One function output."""

    tool_call_id: str
    output: str = Field(max_length=512_000)


class SubmitToolOutputs(Request):
    """POST …/submit_tool_outputs."""

    tool_outputs: list[ToolOutput] = Field(min_length=1, max_length=128)
    stream: bool | None = None


class Run(Wire):
    """The v2 run object."""

    id: str
    object: Literal["thread.run"] = "thread.run"
    created_at: int
    thread_id: str
    assistant_id: str
    status: str
    required_action: dict[str, Any] | None
    last_error: dict[str, Any] | None
    expires_at: int | None
    started_at: int | None
    cancelled_at: int | None
    failed_at: int | None
    completed_at: int | None
    incomplete_details: dict[str, Any] | None
    model: str
    instructions: str
    tools: list[dict[str, Any]]
    metadata: dict[str, str] | None
    usage: dict[str, int] | None
    temperature: float | None
    top_p: float | None
    max_prompt_tokens: int | None
    max_completion_tokens: int | None
    truncation_strategy: dict[str, Any] | None
    tool_choice: Any
    parallel_tool_calls: bool
    response_format: Any


class RunV1(Run):
    """The v1 run object adds the assistant's `file_ids`."""

    file_ids: list[str]


class RunStep(Wire):
    """A run step."""

    id: str
    object: Literal["thread.run.step"] = "thread.run.step"
    created_at: int
    assistant_id: str
    thread_id: str
    run_id: str
    type: str
    status: str
    step_details: dict[str, Any]
    last_error: dict[str, Any] | None
    expired_at: int | None
    cancelled_at: int | None
    failed_at: int | None
    completed_at: int | None
    metadata: dict[str, str] | None
    usage: dict[str, int] | None
