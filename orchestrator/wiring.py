"""The composition root's one call: plug each face into the face-neutral packages.

The API app and the Celery app call install() as they are built; it is idempotent.
"""

from __future__ import annotations

from orchestrator.faces.assistants import batch_lines as assistants_batch_lines


def install() -> None:
    """Register every face's handlers (batch lines, ...); calling it again changes nothing."""
    assistants_batch_lines.install()
