"""Redis clients and the Celery broker built from ORCH_REDIS_URL (one server or Sentinel's
master), the process-wide clients, and the one-line-per-outage log of writes Redis missed."""

from __future__ import annotations

import logging
import threading
from typing import Any

import redis
import redis.asyncio as aredis
import redis.asyncio.sentinel as asentinel
import redis.sentinel
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry

from orchestrator.config import get_settings
from orchestrator.redis_url import SentinelUrl, parse_sentinel
from orchestrator.shared import process_wide

log = logging.getLogger(__name__)


def _backoff() -> ExponentialWithJitterBackoff:
    return ExponentialWithJitterBackoff(cap=1, base=0.01)


def _sentinel_kwargs(target: SentinelUrl, options: dict[str, Any],
                     retry: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Keyword arguments for the sentinels' own connections and for the master's.

    A Sentinel-managed connection reconnects through the sentinels (to the promoted replica)
    on a connection error or a READONLY reply; `retry` (redis-py's default policy for a
    plain client: 10 tries, backoff up to 1 s) lets a command ride out a failover's seconds.
    """
    s = get_settings()
    for_sentinels = {k: v for k, v in options.items() if k.startswith("socket_")}
    if s.redis_sentinel_password:
        for_sentinels["password"] = s.redis_sentinel_password
    for_master = {"db": target.db, "username": target.username, "password": target.password,
                  "retry": retry, **options}
    return for_sentinels, for_master


def new_redis(url: str | None = None, **options: Any) -> redis.Redis:
    """A synchronous client of what ORCH_REDIS_URL (or `url`) names: the server, or the master
    the sentinels point at now (followed across failovers)."""
    url = url or get_settings().redis_url
    target = parse_sentinel(url)
    if target is None:
        return redis.Redis.from_url(url, **options)
    for_sentinels, for_master = _sentinel_kwargs(target, options, Retry(_backoff(), 10))
    sentinels = redis.sentinel.Sentinel(list(target.sentinels), sentinel_kwargs=for_sentinels)
    return sentinels.master_for(get_settings().redis_sentinel_master, **for_master)


def new_async_redis(url: str | None = None, **options: Any) -> aredis.Redis:
    """An asyncio client of what ORCH_REDIS_URL (or `url`) names (see new_redis)."""
    url = url or get_settings().redis_url
    target = parse_sentinel(url)
    if target is None:
        return aredis.Redis.from_url(url, **options)
    for_sentinels, for_master = _sentinel_kwargs(target, options, AsyncRetry(_backoff(), 10))
    sentinels = asentinel.Sentinel(list(target.sentinels), sentinel_kwargs=for_sentinels)
    return sentinels.master_for(get_settings().redis_sentinel_master, **for_master)


def celery_broker() -> tuple[str, dict[str, Any]]:
    """Celery's broker URL for ORCH_REDIS_URL, and the transport options it needs (Sentinel:
    the master's name and the sentinels' password; merge your own options into them)."""
    s = get_settings()
    target = parse_sentinel(s.redis_url)
    if target is None:
        return s.redis_url, {}
    # An unreachable sentinel costs at most this before kombu asks the next one.
    sentinel_kwargs: dict[str, Any] = {"socket_timeout": 5, "socket_connect_timeout": 5}
    if s.redis_sentinel_password:
        sentinel_kwargs["password"] = s.redis_sentinel_password
    return target.for_celery(), {"master_name": s.redis_sentinel_master,
                                 "sentinel_kwargs": sentinel_kwargs}


@process_wide
def get_redis() -> redis.Redis:
    """A pooled synchronous client."""
    return new_redis(socket_timeout=10, socket_connect_timeout=5, health_check_interval=30)


@process_wide
def get_async_redis() -> aredis.Redis:
    """A pooled asyncio client (one per API process)."""
    return new_async_redis(socket_connect_timeout=5, health_check_interval=30)


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
