"""The attempt budget of a run's step: every failed attempt counts, so a poison step ends.

`RunRecord.attempts` counts the failed attempts of the run's current step and is reset to 0
when a step's outcome is recorded. A model error is counted where it is handled
(execution.schedule_retry); any other failure (an exception inside the step, a commit the
database refuses, a worker killed mid-step) leaves the run in_progress with its lease owner
still set, and is counted by the next claim (`charge`). Once the budget
(ORCH_MODEL_MAX_ATTEMPTS) is spent the claim fails the run with `server_error` instead of
trying again. `guarded` wraps a step (runs.advance, runs.sandbox_done) so a failure hands the
lease back at once, with a backoff, and a cancel that came meanwhile still ends the run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlmodel import Session

from orchestrator.config import get_settings
from orchestrator.db import unit_of_work
from orchestrator.engine.cas import cas, move
from orchestrator.engine.schedule import advance_later
from orchestrator.engine.status import RunStatus
from orchestrator.engine.terminal import finish_cancel, load
from orchestrator.models import RunRecord
from orchestrator.models.base import now

log = logging.getLogger(__name__)


def limit() -> int:
    """How many attempts a step gets (a 429 gets ORCH_MODEL_RATE_LIMIT_ATTEMPTS instead)."""
    return get_settings().model_max_attempts


def backoff(attempts: int) -> float:
    """Seconds before the next attempt after `attempts` failed ones (capped, doubling)."""
    s = get_settings()
    return float(min(s.model_retry_max, s.model_retry_base * 2 ** max(attempts - 1, 0)))


def lapsed(run: RunRecord) -> bool:
    """Whether the run's last attempt held a lease and ended without recording an outcome.

    Only claimed work sets a lease owner, and every recorded outcome (and a scheduled model
    retry) clears it: an expired lease that still names an owner is a failed attempt.
    """
    return run.lease_owner is not None


def charge(run: RunRecord) -> int:
    """The run's failed attempts once a lapsed one is counted."""
    return run.attempts + 1 if lapsed(run) else run.attempts


def spent(run: RunRecord) -> bool:
    """Whether the run's lease lapsed with its last allowed attempt: the claim must fail it."""
    expired = run.lease_expires_at is None or run.lease_expires_at <= time.time()
    return lapsed(run) and expired and charge(run) >= limit()


def spent_message(attempts: int) -> str:
    """last_error.message of a run whose step failed every attempt."""
    return (f"The run's step failed {attempts} times: its outcome could not be recorded"
            " (see the worker log), so the run was stopped instead of trying again.")


def hand_back(session: Session, run: RunRecord, owner: str) -> bool:
    """Our attempt failed: let the lease run out after a backoff (keeping our name on it, so
    the next claim counts the attempt) and send the step again then."""
    delay = backoff(run.attempts + 1)
    if not cas(session, run, {"lease_expires_at": time.time() + delay}, owner):
        return False
    advance_later(session, run, countdown=delay)
    return True


def after_failure(run_id: str, owner: str) -> None:
    """A step of `run_id` under lease `owner` raised: hand the lease back, or finish a cancel
    that came meanwhile; if that cannot be written either (or the failure was the failing of
    a spent run), end the run with the bare status."""
    try:
        with unit_of_work() as session:
            run = load(session, run_id)
            if run is None:
                return
            if run.status == RunStatus.CANCELLING.value:
                finish_cancel(session, run)
                return
            if run.status != RunStatus.IN_PROGRESS.value:
                return
            if run.lease_owner == owner:
                hand_back(session, run, owner)
                return
            if not spent(run):
                return  # someone else's attempt: theirs to count
    except Exception:
        log.exception("run %s: recording the failed attempt failed too", run_id)
    last_resort(run_id)


def last_resort(run_id: str) -> None:
    """End a cancelling run, or an in_progress one whose budget is spent, writing only the run
    (no events, no step changes): whatever could not be written must not keep it looping."""
    try:
        with unit_of_work() as session:
            run = load(session, run_id)
            if run is None:
                return
            if run.status == RunStatus.CANCELLING.value:
                done = move(session, run, RunStatus.CANCELLED, cancelled_at=now(),
                            required_action=None, lease_owner=None, lease_expires_at=None)
            elif run.status == RunStatus.IN_PROGRESS.value and spent(run):
                done = move(session, run, RunStatus.FAILED, failed_at=now(),
                            last_error={"code": "server_error",
                                        "message": spent_message(charge(run))},
                            lease_owner=None, lease_expires_at=None)
            else:
                return
            if done:
                log.error("run %s ended %s without its events (they could not be written)",
                          run_id, run.status)
    except Exception:
        log.exception("run %s: could not end it; its lease will lapse and be counted", run_id)


def guarded(run_id: str, owner: str, step: Callable[[], str]) -> str:
    """Perform `step`; if it raises, log it and count the attempt instead of leaving the run
    to its lease (what happened, for the task result)."""
    try:
        return step()
    except Exception:
        log.exception("run %s: the step failed before its outcome was recorded", run_id)
        after_failure(run_id, owner)
        return "failed: counted against the run's attempts"
