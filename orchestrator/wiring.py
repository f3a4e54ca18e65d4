"""The composition root: plug each face into the engine (listeners) and the neutral packages.

The API app and the Celery app call install() as they are built; it is idempotent.
"""

from __future__ import annotations

from orchestrator.faces.assistants import batch_lines as assistants_batch_lines
from orchestrator.faces.assistants import listeners as assistants_listeners
from orchestrator.faces.responses import batch_lines as responses_batch_lines
from orchestrator.faces.responses import listeners as responses_listeners


def install() -> None:
    """Subscribe every face's listeners, register its batch lines; again changes nothing."""
    assistants_listeners.install()
    responses_listeners.install()
    assistants_batch_lines.install()
    responses_batch_lines.install()
