"""The engine's domain events as Responses stream events (`response.created` … `.completed`).

A listener for this face's runs. A stream gets every event; a plain create that waits for its
answer gets only the last one (its payload is the final response); a background response
read by polling gets none. `sequence_number` is given as the stream is read (`view`), so a
resumed stream numbers every event as the first reading did.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from orchestrator.engine import events as ev
from orchestrator.engine.events import CREATED
from orchestrator.faces.responses import mappers
from orchestrator.faces.responses.items import item, output_text
from orchestrator.faces.responses.services import outputs
from orchestrator.models import MessageRecord, RunRecord
from orchestrator.models.message import TOOL_CALL, function_call_id
from orchestrator.streaming import outbox
from orchestrator.streaming.relay import publish_live

# The event a run's last status is announced with; a stream ends after it.
ENDS = {"completed": "response.completed", "requires_action": "response.completed",
        "incomplete": "response.incomplete", "failed": "response.failed",
        "expired": "response.failed", "cancelled": "response.cancelled"}
END_EVENTS = frozenset(ENDS.values())


def _write(session: Session | None, run: RunRecord, name: str, data: dict[str, Any],
           live: bool) -> None:
    payload = {"type": name, **data}
    if session is None:
        publish_live(run.id, outbox.new_event_id(), name, payload)
    else:
        outbox.emit(session, run.tenant, run.id, name, payload, live=live)


def _part(msg: MessageRecord | None, text: str = "") -> dict[str, Any]:
    if msg is not None:
        parts = item(msg)["content"]
        if parts:
            return dict(parts[-1])
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


# Runs of this process whose answer text was announced: their function calls come after it.
_TEXT: set[str] = set()


def _call_index(run: RunRecord, index: int) -> int:
    return index + (1 if run.id in _TEXT else 0)


def _call(session: Session | None, run: RunRecord, msg: MessageRecord, change: str) -> None:
    index = _call_index(run, int(msg.id.rsplit("_", 1)[1]))
    done = item(msg)
    if change == CREATED:
        _write(session, run, "response.output_item.added", {"output_index": index, "item": {
            **done, "arguments": "", "status": "in_progress"}}, True)
        _write(session, run, "response.function_call_arguments.delta", {
            "item_id": msg.id, "output_index": index, "delta": done["arguments"]}, True)
    elif change == "completed":
        _write(session, run, "response.function_call_arguments.done", {
            "item_id": msg.id, "output_index": index, "name": done["name"],
            "arguments": done["arguments"]}, True)
        _write(session, run, "response.output_item.done",
               {"output_index": index, "item": done}, True)


def _call_delta(run: RunRecord, call: dict[str, Any]) -> None:
    """A live piece of a function call: the first one opens its item."""
    if call.get("type") != "function":
        return
    item_id = function_call_id(run.id, call["index"])
    index = _call_index(run, call["index"])
    function = call["function"]
    if "id" in call:
        _write(None, run, "response.output_item.added", {"output_index": index, "item": {
            "type": "function_call", "id": item_id, "call_id": call["id"],
            "name": function.get("name", ""), "arguments": "", "status": "in_progress"}}, True)
    if function.get("arguments"):
        _write(None, run, "response.function_call_arguments.delta", {
            "item_id": item_id, "output_index": index, "delta": function["arguments"]}, True)


def _message(session: Session | None, run: RunRecord, msg: MessageRecord, change: str) -> None:
    if msg.role == TOOL_CALL:
        _call(session, run, msg, change)
        return
    where = {"item_id": msg.id, "output_index": 0}
    if change == CREATED:
        _TEXT.add(run.id)
        opened = {**item(msg), "status": "in_progress", "content": []}
        _write(session, run, "response.output_item.added",
               {"output_index": 0, "item": opened}, True)
        _write(session, run, "response.content_part.added",
               {**where, "content_index": 0, "part": _part(None)}, True)
    elif change in ("completed", "incomplete"):
        _write(session, run, "response.output_text.done",
               {**where, "content_index": 0, "text": output_text(msg), "logprobs": []}, True)
        _write(session, run, "response.content_part.done",
               {**where, "content_index": 0, "part": _part(msg)}, True)
        _write(session, run, "response.output_item.done",
               {"output_index": 0, "item": item(msg)}, True)


def _run(session: Session | None, run: RunRecord, change: str) -> None:
    fd = run.face_data or {}
    end = ENDS.get(change)
    if end is None and not run.stream:
        return
    if end is None:
        name = {CREATED: "response.created", "queued": "response.queued",
                "in_progress": "response.in_progress"}.get(change)
        if name is None or (name == "response.queued" and not fd.get("background")):
            return
        _write(session, run, name, {"response": mappers.response(run, [])}, True)
        return
    if not (run.stream or fd.get("waited")):
        return
    _TEXT.discard(run.id)
    answers = outputs(session, run) if session is not None else []
    _write(session, run, end, {"response": mappers.response(run, answers)}, True)


def on_event(session: Session | None, event: ev.Event) -> None:
    """Render one domain event of a response for its stream."""
    run = event.run
    if isinstance(event, ev.RunChanged):
        _run(session, run, event.change)
    elif not run.stream:
        return
    elif isinstance(event, ev.MessageChanged):
        _message(session, run, event.message, event.change)
    elif isinstance(event, ev.ToolCallDelta):
        _call_delta(run, event.call)
    elif isinstance(event, ev.ContentDelta):
        part = event.part
        if part.get("type") == "text":
            _write(session, run, "response.output_text.delta", {
                "item_id": event.message_id, "output_index": 0,
                "content_index": part.get("index", 0), "delta": part["text"]["value"],
                "logprobs": []}, True)


def numbered(starting_after: int = -1) -> Callable[[str, str], str | None]:
    """The view of one stream: each event gets its place as `sequence_number`; those up to
    `starting_after` (a resumed stream) are not sent again."""
    count = [-1]

    def view(_event: str, raw: str) -> str | None:
        count[0] += 1
        if count[0] <= starting_after:
            return None
        data = json.loads(raw)
        data["sequence_number"] = count[0]
        return json.dumps(data)

    return view
