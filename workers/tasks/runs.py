"""runs.advance (one step of a run) and runs.sweep (crash recovery, on beat)."""

from __future__ import annotations

import logging

from orchestrator.config import get_settings
from orchestrator.db import unit_of_work
from orchestrator.engine import loop as runner
from orchestrator.engine.sweeper import sweep as sweep_runs
from orchestrator.jobs import Task
from workers.celery_app import app
from workers.leader import single_leader

log = logging.getLogger(__name__)


@app.task(name=Task.ADVANCE, queue="runs")
def advance(run_id: str) -> str:
    """Advance run `run_id` by one step."""
    return runner.advance(run_id)


@app.task(name=Task.SWEEP, queue="maintenance")
def sweep() -> str:
    """Re-enqueue orphaned runs, expire overdue ones, republish events (one sweeper at a time)."""
    interval = get_settings().sweep_interval
    with single_leader(Task.SWEEP, max(30.0, interval * 10)) as leader:
        if not leader:
            return "another sweeper is running"
        with unit_of_work() as session:
            report = sweep_runs(session)
        return f"requeued={report.requeued} expired={report.expired} " \
               f"republished={report.republished}"
