"""`sandbox.execute` on queue `sandbox`: run a job's cells, answer through a callback task.

The worker process injects the backend and a cancel check (configure); this module knows
nothing of runs: the job names the callback task and its arguments.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from celery import current_app, shared_task

from sandbox.protocol import ExecutionRequest, ExecutionResult, SandboxBackend

log = logging.getLogger(__name__)
_state: dict[str, Any] = {"backend": None, "cancelled": lambda job: False,
                          "started": lambda job: True}
_running: set[str] = set()
_done: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
_guard = threading.Lock()


def configure(backend: SandboxBackend,
              cancelled: Callable[[dict[str, Any]], bool] | None = None,
              started: Callable[[dict[str, Any]], bool] | None = None) -> None:
    """Install the backend, how to ask whether a job was cancelled, and what to tell when a
    job starts, which answers whether it is still wanted (the worker renews the run's lease
    and notes where the session is; a job re-sent elsewhere meanwhile and already answered,
    e.g. one that waited on the queue of a host that was gone, is not)."""
    _state["backend"] = backend
    if started is not None:
        _state["started"] = started
    if cancelled is not None:
        _state["cancelled"] = cancelled


def run_job(job: dict[str, Any]) -> list[dict[str, Any]]:
    """Execute each call of the job in order; one result dict per call (id + result)."""
    backend: SandboxBackend = _state["backend"]
    if backend is None:
        raise RuntimeError("sandbox backend not configured (start `orchestrator sandbox-worker`)")

    def cancelled() -> bool:
        return bool(_state["cancelled"](job))

    if not _state["started"](job):
        return [{"id": call["id"], **ExecutionResult(
            status="cancelled", error="Not run: the job was answered already or its run has "
                                      "moved on.").to_json()} for call in job["calls"]]
    results = []
    for call in job["calls"]:
        if cancelled():
            result = ExecutionResult(status="cancelled", error="The run was cancelled.")
        else:
            req = ExecutionRequest.from_json({**job, "code": call["code"]})
            result = backend.execute(req, cancelled)
        results.append({"id": call["id"], **result.to_json()})
        if result.status == "cancelled":
            break
    return results


@shared_task(name="sandbox.execute", queue="sandbox", acks_late=True,
             reject_on_worker_lost=True)
def execute(job: dict[str, Any]) -> str:
    """Run the job once (a duplicate delivery re-sends the same answer), then call back."""
    key = job["key"]
    with _guard:
        if key in _running:
            return "already running"
        results = _done.get(key)
        if results is None:
            _running.add(key)
    if results is None:
        try:
            results = run_job(job)
        finally:
            with _guard:
                _running.discard(key)
        with _guard:
            _done[key] = results
            while len(_done) > 64:  # recent answers only (they may hold files)
                _done.popitem(last=False)
    current_app.send_task(job["callback"], args=[*job.get("callback_args", []), results],
                          queue=job.get("callback_queue", "runs"))
    return f"{len(results)} call(s): " + ",".join(r["status"] for r in results)


@shared_task(name="sandbox.reap", queue="sandbox")
def reap() -> int:
    """Remove idle, expired and orphaned sandboxes on this worker's host."""
    backend: SandboxBackend | None = _state["backend"]
    return backend.reap() if backend is not None else 0
