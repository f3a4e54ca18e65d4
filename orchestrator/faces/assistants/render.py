"""The engine's domain events as the Assistants stream's wire events (`thread.run.*` …).

A listener (subscribed by `install`): events of a transaction become outbox rows, published
after commit; live deltas go straight onto the run's stream. Runs that do not stream still
get the events where a stream, a poller or a webhook stops (`NOTIFY_EVENTS`).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from orchestrator.engine import events as ev
from orchestrator.engine.status import STREAM_END
from orchestrator.faces.assistants.mappers import run as run_wire
from orchestrator.faces.assistants.mappers.message import annotations_delta
from orchestrator.faces.assistants.mappers.message import message as message_wire
from orchestrator.models import RunRecord
from orchestrator.streaming import outbox
from orchestrator.streaming.relay import publish_live


def run_event(change: str) -> str:
    """The wire event of a run created or entering a status (`thread.run.completed`)."""
    return f"thread.run.{change}"


# Where a client's stream (and the SDK's poll helpers) stop; written even for unstreamed runs.
END_EVENTS = frozenset(run_event(s) for s in STREAM_END)
NOTIFY_EVENTS = END_EVENTS


def _write(session: Session | None, run: RunRecord, name: str, data: dict[str, Any]) -> None:
    """An outbox row in the move's transaction, or (live, no session) straight to the stream."""
    if session is None:
        publish_live(run.id, outbox.new_event_id(), name, data)
    else:
        outbox.emit(session, run.tenant, run.id, name, data, live=run.stream)


def _step_delta(step_id: str, call: dict[str, Any]) -> dict[str, Any]:
    return {"id": step_id, "object": "thread.run.step.delta",
            "delta": {"step_details": {"type": "tool_calls", "tool_calls": [call]}}}


def on_event(session: Session | None, event: ev.Event) -> None:
    """Render one domain event for the run's stream."""
    run = event.run
    if isinstance(event, ev.RunChanged):
        name = run_event(event.change)
        if run.stream or name in NOTIFY_EVENTS:
            _write(session, run, name, run_wire.run(run).model_dump(mode="json"))
    elif not run.stream:
        return  # steps, messages and deltas only matter to a client reading the stream
    elif isinstance(event, ev.StepChanged):
        _write(session, run, f"thread.run.step.{event.change}",
               run_wire.step(event.step).model_dump(mode="json"))
    elif isinstance(event, ev.MessageChanged):
        _write(session, run, f"thread.message.{event.change}",
               message_wire(event.message, "v2").model_dump(mode="json"))
    elif isinstance(event, ev.StepOutputs):
        _write(session, run, "thread.run.step.delta", run_wire.outputs_delta(event.step))
    elif isinstance(event, ev.MessageAnnotated):
        closing = annotations_delta(event.message)
        if closing:
            _write(session, run, "thread.message.delta", closing)
    elif isinstance(event, ev.ContentDelta):
        _write(session, run, "thread.message.delta", {
            "id": event.message_id, "object": "thread.message.delta",
            "delta": {"content": [event.part]}})
    elif isinstance(event, ev.ToolCallDelta):
        _write(session, run, "thread.run.step.delta", _step_delta(event.step_id, event.call))
