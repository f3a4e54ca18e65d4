"""batches.feed: admission-controlled feed of batch lines into runs (on beat, and on demand)."""

from __future__ import annotations

from orchestrator import jobs
from orchestrator.batches.feeder import tick
from orchestrator.config import get_settings
from workers.celery_app import app
from workers.leader import single_leader

FOLLOW_UP_SECONDS = 0.2
LOCK_SECONDS = 10.0


@app.task(name="batches.feed", queue="maintenance")
def feed() -> str:
    """Feed, cancel and finalize live batches (one feeder at a time)."""
    interval = get_settings().batch_feed_interval
    # Short: a killed feeder's lock must not stall every batch for long; a tick that outlives
    # it meets a second feeder only at the cursor's compare-and-set.
    with single_leader("batches.feed", max(LOCK_SECONDS, interval * 5)) as leader:
        if not leader:
            return "another feeder is running"
        r = tick()
        if r.fed:  # more may fit soon: look again before the next beat tick
            jobs.send("batches.feed", countdown=min(interval, FOLLOW_UP_SECONDS))
        return f"fed={r.fed} refused={r.refused} cancelled={r.cancelled} finished={r.finished}"
