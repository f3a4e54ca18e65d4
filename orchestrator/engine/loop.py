"""One step of one run: claim -> build prompt -> call model -> persist the outcome."""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time

from orchestrator.config import get_settings
from orchestrator.db import unit_of_work
from orchestrator.engine import code_interpreter, terminal
from orchestrator.engine import execution as ex
from orchestrator.engine.attempts import guarded
from orchestrator.engine.heartbeat import HEARTBEAT
from orchestrator.engine.live import LiveStream
from orchestrator.engine.model_client import ModelClient, default_client
from orchestrator.engine.outcome import ModelCallError, ModelOutcome
from orchestrator.engine.prompt import build_request
from orchestrator.engine.status import RunStatus

log = logging.getLogger(__name__)
RUN_ERROR_CODES = {"server_error", "rate_limit_exceeded", "invalid_prompt"}


def new_owner() -> str:
    """A lease owner naming this host, process and thread, unique per attempt."""
    return (f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}:"
            f"{secrets.token_hex(6)}")


def _after_stale(run_id: str) -> None:
    """Our write lost the race: finish a cancel that overtook us, otherwise leave it."""
    with unit_of_work() as session:
        run = terminal.load(session, run_id)
        if run is not None and run.status == RunStatus.CANCELLING.value:
            terminal.finish_cancel(session, run)


def advance(run_id: str, client: ModelClient | None = None) -> str:
    """Perform the next step of the run, if it has one for us; returns what happened.

    A step that raises is counted against the run's attempts (orchestrator/engine/attempts.py).
    """
    owner = new_owner()
    return guarded(run_id, owner, lambda: _step(run_id, owner, client))


def _step(run_id: str, owner: str, client: ModelClient | None) -> str:
    settings = get_settings()
    model = client or default_client()
    model.wait_ready()  # while the model asks us to back off, the run stays queued
    with unit_of_work() as session:
        run = ex.claim(session, run_id, owner)
        if run is None:
            return "nothing to do"
        if ex.step_cap_reached(run):
            terminal.fail(session, run, "server_error",
                    f"The run exceeded the limit of {settings.max_run_steps} steps.", owner)
            return "failed: step cap"
        reason = ex.exhausted_budget(run)
        if reason:
            terminal.mark_incomplete(session, run, reason, owner)
            return f"incomplete: {reason}"
        thread_msgs, steps, own = ex.history(session, run)
        body = build_request(run, thread_msgs, steps, own, model=run.model,
                             context_tokens=settings.model_context_tokens)
    ids = ex.new_step_ids()
    live = LiveStream(run, ids, code_interpreter.figures(steps)) if run.stream else None
    HEARTBEAT.hold(run_id, owner, run.lease_expires_at or time.time())
    try:
        outcome: ModelOutcome = model.complete(
            body, on_text=live.text if live else None, on_tool=live.tool if live else None)
    except ModelCallError as exc:
        with unit_of_work() as session:
            fresh = terminal.load(session, run_id)
            code = exc.code if exc.code in RUN_ERROR_CODES else "server_error"
            done = fresh is not None and (
                ex.schedule_retry(session, fresh, owner, code, exc.message, exc.retry_after)
                if exc.retryable else terminal.fail(session, fresh, code, exc.message, owner))
        if not done:
            _after_stale(run_id)
        return f"model error: {exc.message}"
    finally:
        HEARTBEAT.release(run_id)
    with unit_of_work() as session:
        # The claimed run is what we write against: the CAS on (status, version, lease owner)
        # fails if anything changed it meanwhile (a cancel, a sweeper, another worker).
        done = ex.record_outcome(session, run, owner, outcome, ids,
                                 frozenset(live.created) if live else frozenset())
    if not done:
        _after_stale(run_id)
        return "stale: dropped"
    return "recorded"
