"""The model behind runs: a protocol and its openai-SDK implementation (any compatible server)."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable
from typing import Any, Protocol

import openai
from openai.types.chat import ChatCompletionChunk

from orchestrator.config import get_settings, shown_url
from orchestrator.engine.model_gate import ModelGate
from orchestrator.engine.outcome import ModelCallError, ModelOutcome, ToolCall
from orchestrator.engine.prompt import estimate_tokens
from orchestrator.ids import new_id
from orchestrator.shared import process_wide

# on_text(fragment) and on_tool(index, call_id, name, arguments_fragment) while streaming
TextSink = Callable[[str], None]
ToolSink = Callable[[int, str | None, str | None, str], None]
SHARD = 32  # most connections per HTTP client (see OpenAIModelClient)
RATE_LIMIT_PAUSE = 1.0  # seconds every call of this process waits after a 429 without Retry-After


class ModelClient(Protocol):
    """Anything that turns a chat-completions body into a ModelOutcome."""

    def wait_ready(self) -> None:
        """Block while the model asked for a pause."""
        ...

    def complete(self, body: dict[str, Any], *, on_text: TextSink | None = None,
                 on_tool: ToolSink | None = None) -> ModelOutcome:
        """Call the model once."""
        ...


def _error(exc: openai.OpenAIError, base_url: str, timeout: float) -> ModelCallError:
    """Our error for the SDK's; where the model cannot be reached, say where and what sets it."""
    where = shown_url(base_url)
    if isinstance(exc, openai.RateLimitError):
        after = exc.response.headers.get("retry-after")
        return ModelCallError(f"The model is rate limited: {exc.message}",
                              code="rate_limit_exceeded",
                              retry_after=float(after) if after and after.replace(
                                  ".", "", 1).isdigit() else None)
    if isinstance(exc, openai.APIStatusError):
        retryable = exc.status_code >= 500 or exc.status_code in (408, 409)
        return ModelCallError(f"The model at {where} returned {exc.status_code}: {exc.message}",
                              retryable=retryable)
    if isinstance(exc, openai.APITimeoutError):
        return ModelCallError(f"The model at {where} did not answer within {timeout:g} s"
                              " (ORCH_MODEL_TIMEOUT).")
    return ModelCallError(f"The model could not be reached at {where} (the URL set by"
                          f" ORCH_MODEL_BASE_URL): {exc}")


class OpenAIModelClient:
    """Chat completions through the official SDK; SDK retries off, the run retries instead."""

    def __init__(self, base_url: str, api_key: str, timeout: float,
                 aliases: dict[str, str] | None = None, *, max_connections: int = 100,
                 max_in_flight: int = 0) -> None:
        # One keep-alive connection per concurrent call: the SDK's default keeps only 100
        # idle, so a pool of 200 threads would otherwise reconnect on every other call. The
        # calls are spread over clients of at most SHARD connections, each thread keeping to
        # one: the HTTP pool's bookkeeping on every request grows with the square of its
        # connections (a 200-connection pool cost ~4 % of the worker's CPU).
        shards = -(-max_connections // SHARD)
        size = -(-max_connections // shards)
        # (The Limits class of whichever HTTP library this SDK version is built on.)
        limits = type(openai.DEFAULT_CONNECTION_LIMITS)(
            max_connections=size, max_keepalive_connections=size)
        self.clients = [openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout,
                                      max_retries=0,
                                      http_client=openai.DefaultHttpxClient(limits=limits))
                        for _ in range(shards)]
        self._shard = threading.local()
        self._next = itertools.count()
        self.aliases = aliases or {}
        self.base_url, self.timeout = base_url, timeout
        self.gate = ModelGate(max_in_flight)

    @property
    def client(self) -> openai.OpenAI:
        """This thread's client (threads are dealt to the shards in turn)."""
        index = getattr(self._shard, "index", None)
        if index is None:
            index = self._shard.index = next(self._next) % len(self.clients)
        return self.clients[index]

    def wait_ready(self) -> None:
        """Block while the model asked us to back off (before a run is even claimed)."""
        self.gate.wait_pause()

    def complete(self, body: dict[str, Any], *, on_text: TextSink | None = None,
                 on_tool: ToolSink | None = None) -> ModelOutcome:
        """Call the model, streaming when a sink wants the fragments."""
        body = {**body, "model": self.aliases.get(body["model"], body["model"])}
        with self.gate:
            probe = self.gate.enter()
            limited = False
            try:
                if on_text is None and on_tool is None:
                    return self._once(body)
                return self._streamed(body, on_text, on_tool)
            except openai.OpenAIError as exc:
                error = _error(exc, self.base_url, self.timeout)
                if error.code == "rate_limit_exceeded":
                    limited = True
                    self.gate.pause(error.retry_after or RATE_LIMIT_PAUSE)
                raise error from exc
            finally:
                if probe:
                    self.gate.probe_done(limited)

    def _once(self, body: dict[str, Any]) -> ModelOutcome:
        # client.post sends our body as it is: the typed create() re-walks every message
        # through the SDK's TypedDict transform and parses the answer into pydantic models,
        # which together cost more CPU than the rest of a step. Errors are mapped the same.
        data = json.loads(self.client.post("/chat/completions", body=body, cast_to=bytes))
        choice = data["choices"][0]
        message = choice.get("message") or {}
        calls = [ToolCall(c.get("id") or new_id("call"), c["function"]["name"],
                          c["function"].get("arguments") or "")
                 for c in message.get("tool_calls") or [] if c.get("type") == "function"]
        content = message.get("content")
        usage = data.get("usage") or {}
        prompt = usage.get("prompt_tokens") or estimate_tokens(json.dumps(body["messages"]))
        completion = usage.get("completion_tokens")
        if completion is None:
            completion = estimate_tokens(content or "")
        return ModelOutcome(content, calls, choice.get("finish_reason"), prompt, completion)

    def _streamed(self, body: dict[str, Any], on_text: TextSink | None,
                  on_tool: ToolSink | None) -> ModelOutcome:
        text: list[str] = []
        calls: dict[int, dict[str, str]] = {}
        finish: str | None = None
        prompt = completion = 0
        stream = self.client.post(
            "/chat/completions", body={**body, "stream": True,
                                       "stream_options": {"include_usage": True}},
            cast_to=ChatCompletionChunk, stream=True, stream_cls=openai.Stream[ChatCompletionChunk])
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


@process_wide
def default_client() -> ModelClient:
    """The configured model client (one per process, shared by the pool's threads)."""
    s = get_settings()
    return OpenAIModelClient(s.model_base_url, s.model_api_key, s.model_timeout, s.model_aliases,
                             max_connections=max(s.worker_concurrency, 10),
                             max_in_flight=s.model_max_concurrency)
