"""Run event bus on Redis Streams: publish (outbox rows and live deltas) and relay as SSE."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import redis

from orchestrator.buffered import Buffered
from orchestrator.config import get_settings
from orchestrator.models import EventRecord
from orchestrator.redis_client import OUTAGE, get_async_redis, get_redis
from orchestrator.streaming.published import MARKS

DONE = b"event: done\ndata: [DONE]\n\n"


def stream_key(run_id: str) -> str:
    """The Redis Stream holding a run's events."""
    return f"orch:run:{run_id}:events"


def _xadd(pipe: Any, run_id: str, event_id: str, event: str, data: dict[str, Any]) -> None:
    key = stream_key(run_id)
    pipe.xadd(key, {"eid": event_id, "event": event, "data": json.dumps(data)})
    pipe.expire(key, get_settings().stream_ttl_seconds)


def publish_live(run_id: str, event_id: str, event: str, data: dict[str, Any]) -> str | None:
    """Publish an event that has no outbox row (deltas, in-flight snapshots); best effort."""
    try:
        pipe = get_redis().pipeline(transaction=False)
        _xadd(pipe, run_id, event_id, event, data)
        stream_id = str(pipe.execute()[0].decode())
    except redis.RedisError as exc:
        OUTAGE.failed(f"publish live event {event} of {run_id} (deltas are dropped)", exc)
        return None
    OUTAGE.succeeded()
    return stream_id


def publish_outbox(events: Iterable[EventRecord]) -> str | None:
    """XADD committed outbox rows, then mark them published (batched); the first stream id."""
    rows = list(events)
    if not rows:
        return None
    try:
        pipe = get_redis().pipeline(transaction=False)
        for ev in rows:
            _xadd(pipe, ev.run_id, ev.id, ev.type, ev.data)
        results = pipe.execute()
    except redis.RedisError as exc:
        OUTAGE.failed("publish outbox events", exc)
        return None
    OUTAGE.succeeded()
    MARKS.add([e.id for e in rows])
    return str(results[0].decode())


# Events nobody is waiting for (runs that do not stream): one pipeline every PUBLISH_EVERY per
# process instead of one round trip per transaction; a crash leaves them to the sweeper.
PUBLISH_EVERY = 0.1
PUBLISHER: Buffered[EventRecord] = Buffered("outbox-publisher", PUBLISH_EVERY, publish_outbox)


def render(event: str, data: str) -> bytes:
    """One SSE frame."""
    return f"event: {event}\ndata: {data}\n\n".encode()


async def relay(run_id: str, start: str = "0-0", *, ends: frozenset[str], block_ms: int = 5000,
                idle_limit_s: float = 900.0,
                view: Callable[[str, str], str | None] | None = None) -> AsyncIterator[bytes]:
    """Yield a run's events as SSE frames from `start` until one of `ends`, then [DONE].

    `view` renders each stored payload for the stream's API version (None: as stored, v2);
    an event it renders as None is not sent (a resumed stream skips what the client has).
    """
    client = get_async_redis()
    key = stream_key(run_id)
    last = start
    seen: set[str] = set()
    idle = 0.0
    while True:
        try:
            batches: Any = await client.xread({key: last}, block=block_ms, count=200)
        except redis.RedisError:
            await asyncio.sleep(0.5)
            continue
        if not batches:
            idle += block_ms / 1000
            if idle >= idle_limit_s:
                yield render("error", json.dumps({"error": {
                    "message": "The run produced no events for too long.",
                    "type": "server_error", "param": None, "code": "server_error"}}))
                yield DONE
                return
            continue
        idle = 0.0
        for _key, entries in batches:
            for entry_id, fields in entries:
                last = entry_id.decode()
                eid = fields[b"eid"].decode()
                if eid in seen:
                    continue
                seen.add(eid)
                event = fields[b"event"].decode()
                data = fields[b"data"].decode()
                shown = view(event, data) if view else data
                if shown is not None:
                    yield render(event, shown)
                if event in ends:
                    yield DONE
                    return


async def wait_for_end(run_id: str, *, ends: frozenset[str], timeout: float,
                       block_ms: int = 5000) -> dict[str, Any] | None:
    """The payload of the run's first event among `ends`, once it is on the run's stream;
    None when `timeout` seconds pass first.

    For a request that answers when the run is done: it waits on the stream (no database
    polling); a Redis outage only delays it, since the sweeper republishes committed events.
    """
    client = get_async_redis()
    key, last = stream_key(run_id), "0-0"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (left := deadline - loop.time()) > 0:
        try:
            batches: Any = await client.xread({key: last}, count=200,
                                              block=max(1, min(block_ms, int(left * 1000))))
        except redis.RedisError:
            await asyncio.sleep(0.5)
            continue
        for _key, entries in batches or []:
            for entry_id, fields in entries:
                last = entry_id.decode()
                if fields[b"event"].decode() in ends:
                    return dict(json.loads(fields[b"data"]))
    return None


def exclusive_before(stream_id: str) -> str:
    """The stream id just before `stream_id`, so a read from it includes `stream_id`."""
    ms, _, seq = stream_id.partition("-")
    if int(seq) > 0:
        return f"{ms}-{int(seq) - 1}"
    return f"{int(ms) - 1}-18446744073709551615"
