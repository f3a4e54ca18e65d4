"""Stream events in the stream's API version: stored v2 payloads as a v1 client gets them.

Events are recorded once, as v2 wire objects; a stream opened with `assistants=v1` shows
each one as GET would in v1: runs with the run's `file_ids` and v1 tool types, messages with
`file_ids` (no `attachments`) and v1 content, steps and step deltas with `retrieval` calls,
threads without `tool_resources`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from orchestrator.faces.assistants.mappers.message import content_for_v1, file_ids_for_v1
from orchestrator.faces.assistants.mappers.run import tool_call_v1
from orchestrator.faces.assistants.mappers.tools import tools_for

View = Callable[[str, str], str]


def _run(data: dict[str, Any], file_ids: list[str]) -> dict[str, Any]:
    return {**data, "tools": tools_for("v1", data.get("tools") or []),
            "file_ids": list(file_ids)}


def _message(data: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in data.items() if k != "attachments"}
    out["content"] = content_for_v1(data.get("content") or [])
    out["file_ids"] = file_ids_for_v1(data.get("attachments"))
    return out


def _message_delta(data: dict[str, Any]) -> dict[str, Any]:
    delta = data.get("delta") or {}
    parts = []
    for part in delta.get("content") or []:
        if part.get("type") == "text" and part.get("text", {}).get("annotations"):
            # content_for_v1 works on a whole part; keep the delta's own keys (index, value)
            v1 = content_for_v1([part])[0]
            part = {**part, "text": {**part["text"], "annotations": v1["text"]["annotations"]}}
        if part.get("type") in ("text", "image_file"):
            parts.append(part)
    return {**data, "delta": {**delta, "content": parts}}


def _calls(details: dict[str, Any] | None) -> dict[str, Any] | None:
    if not details or details.get("type") != "tool_calls":
        return details
    return {**details, "tool_calls": [tool_call_v1(c) for c in details.get("tool_calls") or []]}


def _step(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "step_details": _calls(data.get("step_details"))}


def _step_delta(data: dict[str, Any]) -> dict[str, Any]:
    delta = data.get("delta") or {}
    return {**data, "delta": {**delta, "step_details": _calls(delta.get("step_details"))}}


def _thread(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "tool_resources"}


def v1_view(run_file_ids: list[str]) -> View:
    """The renderer of one v1 stream: (event name, stored JSON) -> the v1 JSON."""

    def render(event: str, raw: str) -> str:
        if event == "thread.message.delta":
            convert: Callable[[dict[str, Any]], dict[str, Any]] = _message_delta
        elif event == "thread.run.step.delta":
            convert = _step_delta
        elif event.startswith("thread.run.step."):
            convert = _step
        elif event.startswith("thread.run."):
            return json.dumps(_run(json.loads(raw), run_file_ids))
        elif event.startswith("thread.message."):
            convert = _message
        elif event == "thread.created":
            convert = _thread
        else:
            return raw  # error and anything without a version-specific shape
        return json.dumps(convert(json.loads(raw)))

    return render
