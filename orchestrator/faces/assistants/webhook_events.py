"""The Assistants face's webhooks: which events receivers may subscribe to, and their payloads.

A listener (subscribed by `install`): a run entering a status where a poller would stop writes
one delivery per receiver through the webhook outbox, in the move's transaction, with the run
as the receiver's API version shows it.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from orchestrator.engine import events as ev
from orchestrator.faces.assistants.mappers import run as run_wire
from orchestrator.faces.assistants.render import END_EVENTS, run_event
from orchestrator.webhooks import outbox

RUN_EVENTS = END_EVENTS
EVENTS = RUN_EVENTS | {"batch.completed", "batch.failed"}


def on_event(session: Session | None, event: ev.Event) -> None:
    """Hand a webhook-worthy run event to the webhook outbox."""
    if session is None or not isinstance(event, ev.RunChanged):
        return
    name = run_event(event.change)
    if name not in RUN_EVENTS:
        return
    run = event.run

    def payload(version: str) -> dict[str, Any]:
        return run_wire.run(run, "v1" if version == "v1" else "v2").model_dump(mode="json")

    outbox.on_run_event(session, run, name, payload)
