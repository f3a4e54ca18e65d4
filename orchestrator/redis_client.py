"""Process-wide Redis clients (sync for workers and services, async for SSE relays)."""

from __future__ import annotations

import redis
import redis.asyncio as aredis

from orchestrator.config import get_settings
from orchestrator.shared import process_wide


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
