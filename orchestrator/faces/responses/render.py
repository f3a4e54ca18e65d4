"""The engine's domain events as Responses stream events (`response.created` … `.completed`).

A listener for this face's runs. A stream gets every event; a plain create that waits for its
answer gets only the last one (its payload is the final response); a background response
read by polling gets none. `sequence_number` and `output_index` are given as the stream is
read (`numbered`), from the order of the events themselves, so steps recorded by different
workers and a resumed stream number every event as the first reading did.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from orchestrator.engine import events as ev
from orchestrator.engine.events import CREATED
from orchestrator.faces.responses import code_tool, mappers
from orchestrator.faces.responses.items import (
    MARKER,
    code_call_id,
    item,
    output_text,
    search_call,
)
from orchestrator.faces.responses.services import (
    CODE_STATUS,
    cited_names,
    code_item,
    output_items,
    run_steps,
)
from orchestrator.models import MessageRecord, RunRecord, RunStepRecord
from orchestrator.models.message import TOOL_CALL, function_call_id
from orchestrator.streaming import outbox
from orchestrator.streaming.relay import publish_live

# The event a run's last status is announced with; a stream ends after it.
ENDS = {"completed": "response.completed", "requires_action": "response.completed",
        "incomplete": "response.incomplete", "failed": "response.failed",
        "expired": "response.failed", "cancelled": "response.cancelled"}
END_EVENTS = frozenset(ENDS.values())
ADDED = "response.output_item.added"


def _write(session: Session | None, run: RunRecord, name: str, data: dict[str, Any]) -> None:
    """An outbox row in the move's transaction, or (live, no session) straight to the stream."""
    payload = {"type": name, **data}
    if session is None:
        publish_live(run.id, outbox.new_event_id(), name, payload)
    else:
        outbox.emit(session, run.tenant, run.id, name, payload, live=True)


def _text_part(text: str = "", annotations: list[Any] | None = None) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": annotations or [],
            "logprobs": []}


def _cites(session: Session | None, run: RunRecord) -> tuple[dict[str, str], dict[str, Any]]:
    """What an answer's citations need: cited file names, container files linked."""
    if session is None:
        return {}, {}
    steps = run_steps(session, run)
    return cited_names(steps), code_tool.links(session, run, steps)


def _answer(session: Session | None, run: RunRecord, msg: MessageRecord, change: str) -> None:
    if change == CREATED:
        _write(session, run, ADDED, {"item": {**item(msg), "status": "in_progress",
                                              "content": []}})
        _write(session, run, "response.content_part.added",
               {"item_id": msg.id, "content_index": 0, "part": _text_part()})
    elif change in ("completed", "incomplete"):
        _LIVE_TEXT.pop(msg.id, None)
        done = item(msg, *_cites(session, run))
        part = next((p for p in done["content"] if p["type"] == "output_text"), _text_part())
        _write(session, run, "response.output_text.done", {
            "item_id": msg.id, "content_index": 0, "text": output_text(msg), "logprobs": []})
        _write(session, run, "response.content_part.done",
               {"item_id": msg.id, "content_index": 0, "part": part})
        _write(session, run, "response.output_item.done", {"item": done})


def _call(session: Session | None, run: RunRecord, msg: MessageRecord, change: str) -> None:
    done = item(msg)
    if change == CREATED:
        _write(session, run, ADDED, {"item": {**done, "arguments": "", "status": "in_progress"}})
        _write(session, run, "response.function_call_arguments.delta",
               {"item_id": msg.id, "delta": done["arguments"]})
    elif change == "completed":
        _write(session, run, "response.function_call_arguments.done",
               {"item_id": msg.id, "name": done["name"], "arguments": done["arguments"]})
        _write(session, run, "response.output_item.done", {"item": done})


def _search_opened(session: Session | None, run: RunRecord, call_id: str) -> None:
    _write(session, run, ADDED, {"item": {"type": "file_search_call", "id": call_id,
                                          "status": "in_progress", "queries": [],
                                          "results": None}})
    for phase in ("in_progress", "searching"):
        _write(session, run, f"response.file_search_call.{phase}", {"item_id": call_id})


def _code_opened(session: Session | None, run: RunRecord, item_id: str) -> None:
    _write(session, run, ADDED, {"item": {
        "type": "code_interpreter_call", "id": item_id, "status": "in_progress", "code": "",
        "container_id": code_tool.container_of(run) or "", "outputs": None}})
    _write(session, run, "response.code_interpreter_call.in_progress", {"item_id": item_id})


def _code_step(session: Session | None, run: RunRecord, step: RunStepRecord,
               change: str) -> None:
    """A code step: its calls open when it is created (the whole code as one delta), their
    code is done and interpreted when the outputs come, and they end with the step."""
    calls = [(i, c) for i, c in enumerate(step.step_details.get("tool_calls", []))
             if c.get("type") == code_tool.NAME]
    include = "code_interpreter_call.outputs" in ((run.face_data or {}).get("include") or [])
    for i, call in calls:
        item_id = code_call_id(step.id, i)
        if change == CREATED:
            _code_opened(session, run, item_id)
            _write(session, run, "response.code_interpreter_call_code.delta",
                   {"item_id": item_id, "delta": call[code_tool.NAME]["input"]})
        elif change == "outputs":
            _write(session, run, "response.code_interpreter_call_code.done",
                   {"item_id": item_id, "code": call[code_tool.NAME]["input"]})
            _write(session, run, "response.code_interpreter_call.interpreting",
                   {"item_id": item_id})
        elif change in CODE_STATUS and change != "in_progress" and session is not None:
            if change == "completed":
                _write(session, run, "response.code_interpreter_call.completed",
                       {"item_id": item_id})
            _write(session, run, "response.output_item.done",
                   {"item": code_item(session, run, step, i, include)})


def _step(session: Session | None, run: RunRecord, step: RunStepRecord, change: str) -> None:
    """A search step: its calls open when it is created, and end when it completes."""
    details = step.step_details
    searches = [c for c in details.get("tool_calls", []) if c.get("type") == "file_search"]
    _code_step(session, run, step, change)
    if change == CREATED:
        for call in searches:
            _search_opened(session, run, call["id"])
    elif change == "completed":
        include = (run.face_data or {}).get("include") or []
        for call in searches:
            query = ((details.get("searches") or {}).get(call["id"]) or {}).get("query", "")
            _write(session, run, "response.file_search_call.completed", {"item_id": call["id"]})
            _write(session, run, "response.output_item.done", {"item": search_call(
                call, query, "file_search_call.results" in include)})


# Live answer text held back while a source marker (【0:1†name】) may still be coming, by
# message id: the stream sends the text the final answer has, without markers.
_LIVE_TEXT: dict[str, str] = {}


def _live_text(message_id: str, fragment: str) -> str:
    text = _LIVE_TEXT.pop(message_id, "") + fragment
    open_at = text.rfind("【")
    if open_at != -1 and "】" not in text[open_at:]:
        text, _LIVE_TEXT[message_id] = text[:open_at], text[open_at:]
    return MARKER.sub("", text)


def _call_delta(run: RunRecord, step_id: str, call: dict[str, Any]) -> None:
    """A live piece of a tool call: the first one opens its item."""
    if call.get("type") == "file_search" and "id" in call:
        _search_opened(None, run, call["id"])
    if call.get("type") == code_tool.NAME:
        item_id = code_call_id(step_id, call["index"])
        if "id" in call:
            _code_opened(None, run, item_id)
        piece = (call.get(code_tool.NAME) or {}).get("input")
        if piece:
            _write(None, run, "response.code_interpreter_call_code.delta",
                   {"item_id": item_id, "delta": piece})
    if call.get("type") != "function":
        return
    item_id = function_call_id(run.id, call["index"])
    function = call["function"]
    if "id" in call:
        _write(None, run, ADDED, {"item": {
            "type": "function_call", "id": item_id, "call_id": call["id"],
            "name": function.get("name", ""), "arguments": "", "status": "in_progress"}})
    if function.get("arguments"):
        _write(None, run, "response.function_call_arguments.delta",
               {"item_id": item_id, "delta": function["arguments"]})


def _run(session: Session | None, run: RunRecord, change: str) -> None:
    fd = run.face_data or {}
    end = ENDS.get(change)
    if end is None:
        name = {CREATED: "response.created", "queued": "response.queued",
                "in_progress": "response.in_progress"}.get(change)
        if not run.stream or name is None or (
                name == "response.queued" and not fd.get("background")):
            return
        _write(session, run, name, {"response": mappers.response(run, [])})
    elif run.stream or fd.get("waited"):
        items = output_items(session, run) if session is not None else []
        _write(session, run, end, {"response": mappers.response(run, items)})


def on_event(session: Session | None, event: ev.Event) -> None:
    """Render one domain event of a response for its stream."""
    run = event.run
    if isinstance(event, ev.RunChanged):
        _run(session, run, event.change)
    elif not run.stream:
        return
    elif isinstance(event, ev.MessageChanged):
        if event.message.role == TOOL_CALL:
            _call(session, run, event.message, event.change)
        else:
            _answer(session, run, event.message, event.change)
    elif isinstance(event, ev.StepChanged):
        _step(session, run, event.step, event.change)
    elif isinstance(event, ev.StepOutputs):
        _code_step(session, run, event.step, "outputs")
    elif isinstance(event, ev.ToolCallDelta):
        _call_delta(run, event.step_id, event.call)
    elif isinstance(event, ev.ContentDelta):
        part = event.part
        if part.get("type") == "text":
            delta = _live_text(event.message_id, part["text"]["value"])
            if delta:
                _write(session, run, "response.output_text.delta", {
                    "item_id": event.message_id, "content_index": 0, "delta": delta,
                    "logprobs": []})


def numbered(starting_after: int = -1) -> Callable[[str, str], str | None]:
    """The view of one stream: each event gets its place as `sequence_number`, each item the
    place of its `output_item.added` as `output_index`; events up to `starting_after` (a
    resumed stream) are not sent again."""
    count = [-1]
    places: dict[str, int] = {}

    def view(event: str, raw: str) -> str | None:
        count[0] += 1
        data = json.loads(raw)
        if event == ADDED:
            places.setdefault(data["item"]["id"], len(places))
        item_id = data.get("item_id") or (data.get("item") or {}).get("id")
        if item_id is not None:
            data["output_index"] = places.get(item_id, 0)
        if count[0] <= starting_after:
            return None
        data["sequence_number"] = count[0]
        return json.dumps(data)

    return view
