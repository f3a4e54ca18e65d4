"""files.sweep (on beat): delete files whose expires_after has passed."""

from __future__ import annotations

from orchestrator.config import get_settings
from orchestrator.db import unit_of_work
from orchestrator.faces.assistants.services.file_expiry import sweep_expired
from orchestrator.jobs import Task
from workers.celery_app import app
from workers.leader import single_leader


@app.task(name=Task.FILES_SWEEP, queue="maintenance")
def sweep() -> str:
    """Delete expired files with their references and blobs (one sweeper at a time)."""
    with single_leader(Task.FILES_SWEEP, max(60.0, get_settings().file_sweep_interval * 5)) as lead:
        if not lead:
            return "another file sweeper is running"
        with unit_of_work() as session:
            return f"deleted={sweep_expired(session)}"
