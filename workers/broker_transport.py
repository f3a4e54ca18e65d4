"""kombu's Redis Sentinel transport, changed so a worker outlives the failover that broke its
connection (registered for sentinel:// URLs by install()).

When the broker connection breaks, Celery's consumer first collects the connection (closing its
channel, which detaches the transport from it) and then closes it again. A channel whose first
close stopped at the broken socket runs its close again on the second call, and rebuilding a
connection pool to restore unacknowledged messages then reads the detached transport's settings:
an AttributeError that Celery treats as unrecoverable, so the worker stopped a failover's
seconds after the primary died (about one failover in four here). Raising a connection error
instead lets Celery ignore it and reconnect; the unacknowledged messages stay in Redis and come
back after the visibility timeout, and the sweepers re-send their runs' work before that.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError

ALIAS = "sentinel"


class SentinelChannel(kombu_redis.SentinelChannel):
    """A Sentinel channel that refuses to build a pool for a closed connection."""

    def _connparams(self, asynchronous: bool = False) -> Any:
        if self.connection.client is None:
            raise RedisConnectionError("the broker connection is closed (Redis failover)")
        return super()._connparams(asynchronous)


class SentinelTransport(kombu_redis.SentinelTransport):
    """kombu's Sentinel transport with that channel."""

    Channel = SentinelChannel


def install() -> None:
    """Make sentinel:// URLs use this transport in this process (kombu reads the alias on
    every connect, including a switch to another sentinel of the URL)."""
    TRANSPORT_ALIASES[ALIAS] = f"{__name__}:{SentinelTransport.__name__}"
