"""batches.feed: admission-controlled feed of batch lines into runs (on beat, and on demand)."""

from __future__ import annotations

from orchestrator import jobs
from orchestrator.batches.feeder import tick
from orchestrator.config import get_settings
from orchestrator.redis_client import get_redis
from workers.celery_app import app
from workers.leader import single_leader

FOLLOW_UP_SECONDS = 0.2
FOLLOW_UP_KEY = "orch:batches:feed:follow-up"
LOCK_SECONDS = 10.0


def _follow_up_due() -> bool:
    """Claim the next follow-up tick (each beat tick must not start a chain of its own)."""
    return bool(get_redis().set(FOLLOW_UP_KEY, 1, nx=True, px=int(FOLLOW_UP_SECONDS * 500)))


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
        # While a batch is live, look again before the next beat tick: ending runs make room
        # for more lines, and the last one ends the batch now rather than up to a tick later.
        if (r.fed or r.live) and _follow_up_due():
            jobs.send("batches.feed", countdown=min(interval, FOLLOW_UP_SECONDS))
        return (f"fed={r.fed} refused={r.refused} cancelled={r.cancelled} "
                f"finished={r.finished} live={r.live}")
