"""batches.feed: admission-controlled feed of batch lines into runs (on beat, and on demand)."""

from __future__ import annotations

from orchestrator import jobs
from orchestrator.batches.feeder import tick
from orchestrator.config import get_settings
from orchestrator.jobs import Task
from orchestrator.redis_client import get_redis
from workers.celery_app import app
from workers.leader import single_leader

FOLLOW_UP_SECONDS = 0.2
FOLLOW_UP_KEY = "orch:batches:feed:follow-up"  # set while a follow-up tick is planned
LOCK_SECONDS = 10.0


def _plan_follow_up(countdown: float) -> bool:
    """Claim the one planned follow-up tick (beat's ticks must not each start a chain).

    The claim outlives the countdown by a little: a lost follow-up frees it, and beat starts
    the next chain.
    """
    return bool(get_redis().set(FOLLOW_UP_KEY, 1, nx=True, px=int((countdown + 2) * 1000)))


@app.task(name=Task.BATCH_FEED, queue="maintenance")
def feed(follow_up: bool = False) -> str:
    """Feed, cancel and finalize live batches (one feeder at a time)."""
    interval = get_settings().batch_feed_interval
    if follow_up:  # the planned tick is here: the next one may be planned
        get_redis().delete(FOLLOW_UP_KEY)
    # Short: a killed feeder's lock must not stall every batch for long; a tick that outlives
    # it meets a second feeder only at the cursor's compare-and-set.
    with single_leader(Task.BATCH_FEED, max(LOCK_SECONDS, interval * 5)) as leader:
        if not leader:
            return "another feeder is running"
        r = tick()
        # While a batch is live, look again before the next beat tick: ending runs make room
        # for more lines, and the last one ends the batch now rather than up to a tick later.
        countdown = min(interval, FOLLOW_UP_SECONDS)
        if r.live and _plan_follow_up(countdown):  # a batch that was fed is live
            jobs.send(Task.BATCH_FEED, True, countdown=countdown)
        return (f"fed={r.fed} refused={r.refused} cancelled={r.cancelled} "
                f"finished={r.finished} live={r.live}")
