"""Subscribe the Responses face's stream renderer to the engine's events of its runs."""

from __future__ import annotations

from orchestrator.engine import events
from orchestrator.faces.responses import render
from orchestrator.faces.responses.services import FACE


def install() -> None:
    """The stream renderer (webhooks for responses are not written yet)."""
    events.subscribe(render.on_event, FACE)
