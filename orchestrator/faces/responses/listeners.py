"""Subscribe the Responses face's listeners to the engine's events of its runs."""

from __future__ import annotations

from orchestrator.engine import events
from orchestrator.faces.responses import code_tool, render
from orchestrator.faces.responses.services import FACE


def install() -> None:
    """The stream renderer and the containers' files (webhooks for responses are not
    written yet)."""
    events.subscribe(render.on_event, FACE)
    events.subscribe(code_tool.on_event, FACE)
