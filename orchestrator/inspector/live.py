"""Live run updates for the inspector: the run's Redis event stream, checked against the database.

Every event a worker publishes for the run (the same stream SSE clients of the API read) wakes
the page up; because a run that nobody streams only publishes its end events, the run's
`version` is also read between events, so every recorded change reaches the page. Each change
is sent as the re-rendered fragment itself, so the page applies them in order without asking.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import redis
from starlette.concurrency import run_in_threadpool

from orchestrator.redis_client import get_async_redis
from orchestrator.streaming import stream_key

log = logging.getLogger(__name__)
State = Callable[[], tuple[int, bool] | None]
Render = Callable[[], str]
LINE_BREAK = re.compile(r"\r\n|\r|\n")  # exactly the line ends of the SSE format


def frame(event: str, data: dict[str, object] | str) -> bytes:
    """One SSE frame; text is sent line by line (EventSource joins them with newlines)."""
    text = data if isinstance(data, str) else json.dumps(data)
    lines = "".join(f"data: {line}\n" for line in LINE_BREAK.split(text))
    return f"event: {event}\n{lines}\n".encode()


async def _wait_for_events(key: str, last: str, block_ms: int) -> str:
    """Block until the stream has entries after `last` (or a timeout); the new cursor."""
    try:
        batches: Any = await get_async_redis().xread({key: last}, block=block_ms, count=200)
    except redis.RedisError as exc:
        log.info("inspector live stream falls back to polling: %s", exc)
        await asyncio.sleep(block_ms / 1000)
        return last
    for _key, entries in batches or []:
        for entry_id, _fields in entries:
            last = entry_id.decode()
    return last


async def changes(run_id: str, version: int, state: State, render: Render, *,
                  block_ms: int = 1000, lifetime_s: float = 300.0) -> AsyncIterator[bytes]:
    """`changed` (the fragment) whenever the run moves past `version`; `end` once terminal."""
    key = stream_key(run_id)
    last = "$"
    deadline = time.monotonic() + lifetime_s
    yield b"retry: 2000\n\n"
    while time.monotonic() < deadline:
        current = await run_in_threadpool(state)
        if current is None:
            yield frame("end", {"reason": "gone"})
            return
        seen, terminal = current
        if seen != version:
            version = seen
            yield frame("changed", await run_in_threadpool(render))
        if terminal:
            yield frame("end", {"version": version})
            return
        # Events are published after their commit, so the next read sees what they announce.
        last = await _wait_for_events(key, last, block_ms)
    yield frame("reconnect", {"version": version})
