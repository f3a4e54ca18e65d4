"""What a model call produced, in the domain's terms (the worker's client fills it)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ToolCall:
    """One function call the model asked for."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class ModelOutcome:
    """Text and/or tool calls, why the model stopped, and token usage."""

    content: str | None
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = "stop"
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True)
class StepIds:
    """Ids chosen before the model call, so live stream events and rows agree."""

    message_step: str
    message: str
    tool_step: str


class ModelCallError(Exception):
    """A model failure; `retryable` ones (429, 5xx, timeouts) are tried again with backoff."""

    def __init__(self, message: str, *, code: str = "server_error", retryable: bool = True,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.retryable = retryable
        self.retry_after = retry_after
