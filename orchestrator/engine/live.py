"""Live domain events while the model answers: steps, messages and deltas with pre-chosen ids.

Built-in tools reach the model as functions (code_interpreter with a JSON `code` argument,
file_search / retrieval with a `query`); the stream shows them as the API's own tool calls:
`code_interpreter` with its code decoded as it arrives, `file_search` with an empty object.
"""

from __future__ import annotations

from typing import Any

from orchestrator.engine.code_interpreter import NAME as CODE
from orchestrator.engine.events import (
    CREATED,
    ContentDelta,
    MessageChanged,
    StepChanged,
    ToolCallDelta,
    emit,
)
from orchestrator.engine.file_search import SEARCH_TOOLS
from orchestrator.engine.outcome import StepIds
from orchestrator.engine.partial_json import StringField
from orchestrator.models import MessageRecord, RunRecord, RunStepRecord
from orchestrator.models.base import now

SEARCH = "file_search"


class LiveStream:
    """Emits step/message created events on the first fragment, then deltas (no session:
    listeners put them straight onto the run's stream).

    `lead` holds the content parts the recorded answer puts before its text (this run's
    figures), so the streamed text has the index it has in the final message.
    """

    def __init__(self, run: RunRecord, ids: StepIds,
                 lead: list[dict[str, Any]] | None = None) -> None:
        self.run = run
        self.ids = ids
        self.lead = lead or []
        self.created: set[str] = set()
        self.calls: dict[int, tuple[str, StringField | None]] = {}

    def _step(self, step_id: str, ordinal: int, details: dict[str, Any]) -> None:
        step = RunStepRecord(
            id=step_id, tenant=self.run.tenant, created_at=now(), run_id=self.run.id,
            ordinal=ordinal, thread_id=self.run.thread_id, assistant_id=self.run.assistant_id,
            type=details["type"], status="in_progress", step_details=details)
        emit(None, StepChanged(self.run, step, CREATED))
        emit(None, StepChanged(self.run, step, "in_progress"))

    def _message_delta(self, part: dict[str, Any]) -> None:
        emit(None, ContentDelta(self.run, self.ids.message, part))

    def text(self, fragment: str) -> None:
        """A text fragment: announce the message once, then send the delta."""
        if "message" not in self.created:
            self.created.add("message")
            self._step(self.ids.message_step, self.run.steps_taken, {
                "type": "message_creation",
                "message_creation": {"message_id": self.ids.message}})
            msg = MessageRecord(
                id=self.ids.message, tenant=self.run.tenant, created_at=now(),
                thread_id=self.run.thread_id, role="assistant", content=[], attachments=[],
                status="in_progress", assistant_id=self.run.assistant_id, run_id=self.run.id)
            emit(None, MessageChanged(self.run, msg, CREATED))
            emit(None, MessageChanged(self.run, msg, "in_progress"))
            for i, part in enumerate(self.lead):
                self._message_delta({"index": i, **part})
        self._message_delta({"index": len(self.lead), "type": "text",
                             "text": {"value": fragment, "annotations": []}})

    def _kind(self, name: str | None) -> str:
        """The tool type the recorded step will give this call."""
        if name in SEARCH_TOOLS:
            return SEARCH
        if name == CODE and any(t.get("type") == CODE for t in self.run.tools):
            return CODE
        return "function"

    def _opening(self, index: int, call_id: str | None, name: str | None,
                 fragment: str) -> dict[str, Any]:
        """The first delta of a call: it creates the call in the client's snapshot."""
        kind = self._kind(name)
        self.calls[index] = (kind, StringField("code") if kind == CODE else None)
        call: dict[str, Any] = {"index": index, "id": call_id or "", "type": kind}
        if kind == CODE:
            call[CODE] = {"input": "", "outputs": []}
        elif kind == SEARCH:
            call[SEARCH] = {}
        else:
            call["function"] = {"name": name or "", "arguments": fragment, "output": None}
        return call

    def _call_delta(self, index: int, fragment: str) -> dict[str, Any] | None:
        """A later piece of a call: new code for code_interpreter, arguments for a function."""
        kind, code = self.calls[index]
        if code is not None:
            piece = code.feed(fragment)
            return {"index": index, "type": kind, kind: {"input": piece}} if piece else None
        if kind == "function" and fragment:
            return {"index": index, "type": kind, "function": {"arguments": fragment}}
        return None  # a search streams no query, as the API's file_search did not

    def tool(self, index: int, call_id: str | None, name: str | None, fragment: str) -> None:
        """A tool-call fragment: announce the step once, then send the delta."""
        if "tools" not in self.created:
            self.created.add("tools")
            self._step(self.ids.tool_step, self.run.steps_taken + len(self.created) - 1,
                       {"type": "tool_calls", "tool_calls": []})
        deltas: list[dict[str, Any] | None] = []
        if index not in self.calls:
            deltas.append(self._opening(index, call_id, name, fragment))
            if self.calls[index][1] is not None:  # code in the first fragment: its own delta
                deltas.append(self._call_delta(index, fragment))
        else:
            deltas.append(self._call_delta(index, fragment))
        for call in deltas:
            if call is not None:
                emit(None, ToolCallDelta(self.run, self.ids.tool_step, call))
