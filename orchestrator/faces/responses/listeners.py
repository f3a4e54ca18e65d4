"""Subscribe the Responses face's listeners to the engine's events of its runs."""

from __future__ import annotations

from orchestrator.engine import events
from orchestrator.faces.responses import code_tool, render, webhook_events
from orchestrator.faces.responses.services import FACE
from orchestrator.webhooks import catalog


def install() -> None:
    """The stream renderer, the containers' files, then the webhooks (`response.*`, now
    subscribable)."""
    events.subscribe(render.on_event, FACE)
    events.subscribe(code_tool.on_event, FACE)
    events.subscribe(webhook_events.on_event, FACE)
    catalog.register(webhook_events.EVENTS)
