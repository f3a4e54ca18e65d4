"""The Responses face's webhooks: OpenAI's thin `response.*` events when a response ends.

A listener (subscribed by `install`): a response entering a final status writes one delivery
per subscribed endpoint through the webhook outbox, in the move's transaction. As OpenAI sends
them, the event's data is only the response's id (the receiver retrieves the rest), the same
for every API version. A response with store=false is not announced: its id names nothing a
receiver could retrieve.
"""

from __future__ import annotations

from sqlmodel import Session

from orchestrator.engine import events as ev
from orchestrator.faces.responses.render import END_EVENTS, ENDS
from orchestrator.webhooks import outbox

EVENTS = END_EVENTS  # response.completed / .failed / .cancelled / .incomplete


def on_event(session: Session | None, event: ev.Event) -> None:
    """Hand the end of a stored response to the webhook outbox."""
    if session is None or not isinstance(event, ev.RunChanged):
        return
    name = ENDS.get(event.change)
    run = event.run
    if name is None or not (run.face_data or {}).get("store", True):
        return
    data = {"id": run.id}
    outbox.on_run_event(session, run, name, lambda _version: data)
