"""Process-wide Redis clients (sync for workers and services, async for SSE relays), and the
one-line-per-outage log of writes that Redis missed."""

from __future__ import annotations

import logging
import threading

import redis
import redis.asyncio as aredis

from orchestrator.config import get_settings
from orchestrator.shared import process_wide

log = logging.getLogger(__name__)


@process_wide
def get_redis() -> redis.Redis:
    """A pooled synchronous client."""
    return redis.Redis.from_url(get_settings().redis_url, socket_timeout=10,
                                socket_connect_timeout=5, health_check_interval=30)


@process_wide
def get_async_redis() -> aredis.Redis:
    """A pooled asyncio client (one per API process)."""
    return aredis.Redis.from_url(get_settings().redis_url, socket_connect_timeout=5,
                                 health_check_interval=30)


class RedisOutage:
    """Logs an outage once: a warning at the first failed write, one line when one succeeds.

    Every caller's work is already committed to the database (a queued run, an outbox row),
    and the sweepers re-send it from there, so a failed publish is not the request's failure.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.missed = 0  # writes failed since the outage began (0: no outage)

    def failed(self, what: str, exc: Exception) -> None:
        """A write to Redis failed; its work waits in the database for the sweeper."""
        with self._lock:
            self.missed += 1
            first = self.missed == 1
        if first:
            log.warning("Redis unreachable, cannot %s (%s: %s); the work is committed and the"
                        " sweeper will re-send it once Redis is back (further failures are not"
                        " logged until then)", what, type(exc).__name__, exc)

    def succeeded(self) -> None:
        """A write went through: an outage in progress is over."""
        if not self.missed:
            return
        with self._lock:
            missed, self.missed = self.missed, 0
        if missed:
            log.warning("Redis reachable again (%d writes failed during the outage; the"
                        " sweeper re-sends their work)", missed)


OUTAGE = RedisOutage()
