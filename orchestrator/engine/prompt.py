"""Build the chat-completions request for a run's next step from its recorded state."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from orchestrator.engine import file_search as search_tool
from orchestrator.engine.ci_outputs import tool_text
from orchestrator.models import MessageRecord, RunRecord, RunStepRecord
from orchestrator.models.message import TOOL_CALL, TOOL_OUTPUT

BUILTIN_FUNCTIONS: dict[str, dict[str, Any]] = {
    "code_interpreter": {
        "name": "code_interpreter",
        "description": "Run Python code in a stateful sandbox; files are in /mnt/data.",
        "parameters": {"type": "object", "properties": {"code": {"type": "string"}},
                       "required": ["code"]},
    },
    "file_search": {
        "name": "file_search",
        "description": "Search the files available to the assistant.",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}},
                       "required": ["query"]},
    },
    "retrieval": {
        "name": "retrieval",
        "description": "Search the files available to the assistant.",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}},
                       "required": ["query"]},
    },
}


def estimate_tokens(text: str) -> int:
    """A cheap token estimate (about four characters a token) for truncation and fallbacks."""
    return len(text) // 4 + 1


def message_text(content: Sequence[dict[str, Any]]) -> str:
    """The text of wire-shaped content parts (images noted by reference)."""
    out = []
    for part in content:
        kind = part.get("type")
        if kind == "text":
            text = part["text"]
            out.append(text["value"] if isinstance(text, dict) else str(text))
        elif kind == "image_file":
            out.append(f"[image file {part['image_file']['file_id']}]")
        elif kind == "image_url":
            out.append(f"[image {part['image_url']['url']}]")
        elif kind == "refusal":
            out.append(str(part.get("refusal", "")))
        elif kind == "input_file":  # a file given in a message, its text read at intake
            given = part["input_file"]
            out.append(f"[file {given.get('filename', '')}]\n{given.get('text', '')}")
    return "\n".join(out)


def _chat_message(msg: MessageRecord) -> dict[str, Any]:
    if msg.role == TOOL_CALL:
        calls = [p["function_call"] for p in msg.content if p.get("type") == "function_call"]
        return {"role": "assistant", "content": None, "tool_calls": [
            {"id": c["call_id"], "type": "function",
             "function": {"name": c["name"], "arguments": c["arguments"]}} for c in calls]}
    if msg.role == TOOL_OUTPUT:
        out: dict[str, Any] = next((p["function_call_output"] for p in msg.content
                                    if p.get("type") == "function_call_output"), {})
        return {"role": "tool", "tool_call_id": out.get("call_id", ""),
                "content": out.get("output", "")}
    role = "system" if msg.role == "developer" else msg.role  # the older name every model knows
    return {"role": role, "content": message_text(msg.content)}


def _history(messages: Sequence[MessageRecord]) -> list[dict[str, Any]]:
    """Thread messages as chat messages; consecutive function calls are one assistant turn."""
    out: list[dict[str, Any]] = []
    for msg in messages:
        chat = _chat_message(msg)
        last = out[-1] if out else None
        if msg.role == TOOL_CALL and last is not None and last.get("tool_calls") and (
                last.get("content") is None):
            last["tool_calls"].extend(chat["tool_calls"])
        else:
            out.append(chat)
    return out


def _step_messages(step: RunStepRecord, own: dict[str, MessageRecord]) -> list[dict[str, Any]]:
    details = step.step_details
    if details.get("type") == "message_creation":
        msg = own.get(details["message_creation"]["message_id"])
        return [_chat_message(msg)] if msg is not None else []
    calls = details.get("tool_calls", [])
    assistant: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": []}
    results = []
    for call in calls:
        kind = call["type"]
        if kind == "function":
            name, args = call["function"]["name"], call["function"]["arguments"]
            output = call["function"].get("output")
        elif kind == "code_interpreter":
            name = "code_interpreter"
            args = json.dumps({"code": call["code_interpreter"]["input"]})
            output = tool_text(call, details)
        elif kind == "file_search":
            name, args, output = search_tool.replay(details, call)
        else:
            name = kind
            args = json.dumps({"query": call.get(kind, {}).get("query", "")})
            output = json.dumps(call.get(kind, {}).get("results", []))
        assistant["tool_calls"].append(
            {"id": call["id"], "type": "function", "function": {"name": name, "arguments": args}})
        results.append({"role": "tool", "tool_call_id": call["id"], "content": output or ""})
    return [assistant, *results] if calls else []


def _truncate(history: list[dict[str, Any]], run: RunRecord, budget: int) -> list[dict[str, Any]]:
    strategy = run.truncation_strategy or {}
    if strategy.get("type") == "last_messages" and strategy.get("last_messages"):
        history = history[-int(strategy["last_messages"]):]
    total = sum(estimate_tokens(str(m.get("content") or "")) for m in history)
    while history and total > budget:
        total -= estimate_tokens(str(history[0].get("content") or ""))
        history = history[1:]
    return history


def builtin_calls(steps: Sequence[RunStepRecord]) -> int:
    """How many built-in tool calls (file_search, code_interpreter) the run's steps made."""
    return sum(1 for step in steps for call in step.step_details.get("tool_calls", [])
               if call.get("type") != "function")


def tools_for_model(run: RunRecord, steps: Sequence[RunStepRecord] = ()) -> list[dict[str, Any]]:
    """Every run tool as a chat-completions function tool; once `max_tool_calls` built-in
    calls are made, only the functions."""
    capped = run.max_tool_calls is not None and builtin_calls(steps) >= run.max_tool_calls
    out = []
    for tool in run.tools:
        if tool["type"] == "function":
            out.append({"type": "function", "function": tool["function"]})
        elif tool["type"] in BUILTIN_FUNCTIONS and not capped:
            out.append({"type": "function", "function": BUILTIN_FUNCTIONS[tool["type"]]})
    return out


def _tool_choice(choice: Any) -> Any:
    if choice is None or isinstance(choice, str):
        return choice
    name = choice["function"]["name"] if choice["type"] == "function" else choice["type"]
    return {"type": "function", "function": {"name": name}}


def build_request(run: RunRecord, thread_messages: Sequence[MessageRecord],
                  steps: Sequence[RunStepRecord], own_messages: Sequence[MessageRecord],
                  *, model: str, context_tokens: int) -> dict[str, Any]:
    """The chat-completions body for the next step of `run`."""
    own = {m.id: m for m in own_messages}
    run_part: list[dict[str, Any]] = []
    for step in sorted(steps, key=lambda s: s.ordinal):
        run_part.extend(_step_messages(step, own))
    system = [{"role": "system", "content": run.instructions}] if run.instructions else []
    fixed = sum(estimate_tokens(str(m.get("content") or "")) for m in system + run_part)
    budget = context_tokens - fixed - (run.max_completion_tokens or 1024)
    if run.max_prompt_tokens:
        budget = min(budget, run.max_prompt_tokens - fixed)
    history = _truncate(_history(thread_messages), run, max(budget, 0))
    body: dict[str, Any] = {"model": model, "messages": system + history + run_part}
    tools = tools_for_model(run, steps)
    if tools:
        body["tools"] = tools
        if run.tool_choice is not None:
            body["tool_choice"] = _tool_choice(run.tool_choice)
        body["parallel_tool_calls"] = run.parallel_tool_calls
    for name in ("temperature", "top_p", "reasoning_effort"):
        if getattr(run, name) is not None:
            body[name] = getattr(run, name)
    fmt = run.response_format
    if isinstance(fmt, dict) and fmt.get("type") in ("json_object", "json_schema"):
        body["response_format"] = fmt
    if run.max_completion_tokens:
        used = (run.usage or {}).get("completion_tokens", 0)
        body["max_completion_tokens"] = max(run.max_completion_tokens - used, 1)
    return body
