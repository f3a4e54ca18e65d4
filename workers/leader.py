"""One beat task of a kind at a time: a Redis lock that a killed holder loses by expiry."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from redis.exceptions import LockError

from orchestrator.redis_client import get_redis


@contextlib.contextmanager
def single_leader(name: str, timeout: float) -> Iterator[bool]:
    """Yield True while holding `orch:lock:<name>`, False when another task holds it."""
    lock = get_redis().lock(f"orch:lock:{name}", timeout=timeout, blocking=False)
    if not lock.acquire(blocking=False):
        yield False
        return
    try:
        yield True
    finally:
        with contextlib.suppress(LockError):  # expired while we worked: nothing to release
            lock.release()
