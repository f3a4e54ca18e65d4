"""Subscribe the Assistants face's renderers to the engine's domain events."""

from __future__ import annotations

from orchestrator.engine import events
from orchestrator.faces.assistants import render, webhook_events
from orchestrator.webhooks import catalog

FACE = "assistants"  # RunRecord.face of the runs this face creates and renders


def install() -> None:
    """Stream rendering first, then webhooks (the order a run's events were always written);
    the face's webhook event names become subscribable."""
    events.subscribe(render.on_event, FACE)
    events.subscribe(webhook_events.on_event, FACE)
    catalog.register(webhook_events.EVENTS)
