"""Live stream events while the model answers: snapshots and deltas with pre-chosen ids."""

from __future__ import annotations

from typing import Any

from orchestrator.mappers import message as message_wire
from orchestrator.mappers import run as run_wire
from orchestrator.models import MessageRecord, RunRecord, RunStepRecord
from orchestrator.models.base import now
from orchestrator.runs.events import new_event_id
from orchestrator.runs.outcome import StepIds
from orchestrator.streaming import publish_live


class LiveStream:
    """Publishes step/message created events on the first fragment, then deltas."""

    def __init__(self, run: RunRecord, ids: StepIds) -> None:
        self.run = run
        self.ids = ids
        self.created: set[str] = set()

    def _publish(self, event: str, data: dict[str, Any]) -> None:
        publish_live(self.run.id, new_event_id(), event, data)

    def _step(self, step_id: str, ordinal: int, details: dict[str, Any]) -> None:
        step = RunStepRecord(
            id=step_id, tenant=self.run.tenant, created_at=now(), run_id=self.run.id,
            ordinal=ordinal, thread_id=self.run.thread_id, assistant_id=self.run.assistant_id,
            type=details["type"], status="in_progress", step_details=details)
        data = run_wire.step(step).model_dump(mode="json")
        self._publish("thread.run.step.created", data)
        self._publish("thread.run.step.in_progress", data)

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
            data = message_wire.message(msg, "v2").model_dump(mode="json")
            self._publish("thread.message.created", data)
            self._publish("thread.message.in_progress", data)
        self._publish("thread.message.delta", {
            "id": self.ids.message, "object": "thread.message.delta",
            "delta": {"content": [{"index": 0, "type": "text",
                                   "text": {"value": fragment, "annotations": []}}]}})

    def tool(self, index: int, call_id: str | None, name: str | None, fragment: str) -> None:
        """A tool-call fragment: announce the step once, then send the delta."""
        if "tools" not in self.created:
            self.created.add("tools")
            self._step(self.ids.tool_step, self.run.steps_taken + len(self.created) - 1,
                       {"type": "tool_calls", "tool_calls": []})
        function: dict[str, Any] = {"arguments": fragment}
        call: dict[str, Any] = {"index": index, "type": "function", "function": function}
        if call_id is not None:
            call["id"] = call_id
            function.update(name=name or "", output=None)
        self._publish("thread.run.step.delta", {
            "id": self.ids.tool_step, "object": "thread.run.step.delta",
            "delta": {"step_details": {"type": "tool_calls", "tool_calls": [call]}}})
