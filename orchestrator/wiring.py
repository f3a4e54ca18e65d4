"""The composition root: connect the faces to the engine (listeners) in every process."""

from __future__ import annotations

from orchestrator.faces.assistants import listeners as assistants_listeners


def install() -> None:
    """Subscribe every face's listeners; idempotent (the API app and each worker call it)."""
    assistants_listeners.install()
