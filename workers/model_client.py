"""The model behind runs: a protocol and its openai-SDK implementation (any compatible server)."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Protocol

import openai

from orchestrator.config import get_settings
from orchestrator.ids import new_id
from orchestrator.runs.outcome import ModelCallError, ModelOutcome, ToolCall
from orchestrator.runs.prompt import estimate_tokens

# on_text(fragment) and on_tool(index, call_id, name, arguments_fragment) while streaming
TextSink = Callable[[str], None]
ToolSink = Callable[[int, str | None, str | None, str], None]


class ModelClient(Protocol):
    """Anything that turns a chat-completions body into a ModelOutcome."""

    def complete(self, body: dict[str, Any], *, on_text: TextSink | None = None,
                 on_tool: ToolSink | None = None) -> ModelOutcome:
        """Call the model once."""
        ...


def _error(exc: openai.OpenAIError) -> ModelCallError:
    if isinstance(exc, openai.RateLimitError):
        after = exc.response.headers.get("retry-after")
        return ModelCallError(f"The model is rate limited: {exc.message}",
                              code="rate_limit_exceeded",
                              retry_after=float(after) if after and after.replace(
                                  ".", "", 1).isdigit() else None)
    if isinstance(exc, openai.APIStatusError):
        retryable = exc.status_code >= 500 or exc.status_code in (408, 409)
        return ModelCallError(f"The model returned {exc.status_code}: {exc.message}",
                              retryable=retryable)
    if isinstance(exc, openai.APITimeoutError):
        return ModelCallError("The model did not answer in time.")
    return ModelCallError(f"The model could not be reached: {exc}")


class OpenAIModelClient:
    """Chat completions through the official SDK; SDK retries off, the run retries instead."""

    def __init__(self, base_url: str, api_key: str, timeout: float,
                 aliases: dict[str, str] | None = None) -> None:
        self.client = openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout,
                                    max_retries=0)
        self.aliases = aliases or {}

    def complete(self, body: dict[str, Any], *, on_text: TextSink | None = None,
                 on_tool: ToolSink | None = None) -> ModelOutcome:
        """Call the model, streaming when a sink wants the fragments."""
        body = {**body, "model": self.aliases.get(body["model"], body["model"])}
        try:
            if on_text is None and on_tool is None:
                return self._once(body)
            return self._streamed(body, on_text, on_tool)
        except openai.OpenAIError as exc:
            raise _error(exc) from exc

    def _once(self, body: dict[str, Any]) -> ModelOutcome:
        resp = self.client.chat.completions.create(**body)
        choice = resp.choices[0]
        calls = [ToolCall(c.id or new_id("call"), c.function.name, c.function.arguments or "")
                 for c in choice.message.tool_calls or [] if c.type == "function"]
        usage = resp.usage
        prompt = usage.prompt_tokens if usage else estimate_tokens(json.dumps(body["messages"]))
        completion = usage.completion_tokens if usage else estimate_tokens(
            choice.message.content or "")
        return ModelOutcome(choice.message.content, calls, choice.finish_reason, prompt,
                            completion)

    def _streamed(self, body: dict[str, Any], on_text: TextSink | None,
                  on_tool: ToolSink | None) -> ModelOutcome:
        text: list[str] = []
        calls: dict[int, dict[str, str]] = {}
        finish: str | None = None
        prompt = completion = 0
        stream = self.client.chat.completions.create(
            **body, stream=True, stream_options={"include_usage": True})
        for chunk in stream:
            if chunk.usage:
                prompt, completion = chunk.usage.prompt_tokens, chunk.usage.completion_tokens
            for choice in chunk.choices:
                delta = choice.delta
                if delta.content:
                    text.append(delta.content)
                    if on_text:
                        on_text(delta.content)
                for tc in delta.tool_calls or []:
                    slot = calls.setdefault(tc.index, {"id": "", "name": "", "arguments": ""})
                    first = not slot["id"]
                    if tc.id:
                        slot["id"] = tc.id
                    if tc.function and tc.function.name:
                        slot["name"] += tc.function.name
                    fragment = (tc.function.arguments or "") if tc.function else ""
                    slot["arguments"] += fragment
                    if on_tool:
                        on_tool(tc.index, slot["id"] if first else None,
                                slot["name"] if first else None, fragment)
                if choice.finish_reason:
                    finish = choice.finish_reason
        content = "".join(text) or None
        if not prompt:
            prompt = estimate_tokens(json.dumps(body["messages"]))
            completion = estimate_tokens(content or "")
        tool_calls = [ToolCall(c["id"] or new_id("call"), c["name"], c["arguments"])
                      for _, c in sorted(calls.items())]
        return ModelOutcome(content, tool_calls, finish, prompt, completion)


@lru_cache(maxsize=1)
def default_client() -> ModelClient:
    """The configured model client (one per process; thread-safe)."""
    s = get_settings()
    return OpenAIModelClient(s.model_base_url, s.model_api_key, s.model_timeout, s.model_aliases)
