"""runs.sandbox_done: the sandbox worker's callback recording a code_interpreter step."""

from __future__ import annotations

from typing import Any

from orchestrator.engine import code_interpreter, sandbox_record
from orchestrator.engine.attempts import guarded
from orchestrator.jobs import Task
from workers.celery_app import app


@app.task(name=Task.SANDBOX_DONE, queue="runs")
def sandbox_done(run_id: str, step_id: str, results: list[dict[str, Any]],
                 route: str | None = None) -> str:
    """Record the outputs of step `step_id` of run `run_id`, then advance the run (a failure
    to record counts against the run's attempts, as any step's). `route` is ignored: sandbox
    workers before sandbox_sessions sent their queue there."""
    return guarded(run_id, code_interpreter.owner_of(step_id),
                   lambda: sandbox_record.record(run_id, step_id, results))
