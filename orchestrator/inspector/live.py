"""Live run updates for the inspector: the run's Redis event stream, checked against the database.

Every event a worker publishes for the run (the same stream SSE clients of the API read) wakes
the page up; because a run that nobody streams only publishes its end events, the run's
`version` is also read between events, so every recorded change reaches the page. Each change
is sent as the re-rendered fragment itself, so the page applies them in order without asking.
When a client streams the run (or the response), the model's text deltas are relayed too
(`typing`), so the page shows the answer as it is written.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import redis
from starlette.concurrency import run_in_threadpool

from orchestrator.redis_client import get_async_redis
from orchestrator.streaming.relay import stream_key

log = logging.getLogger(__name__)
State = Callable[[], tuple[int, bool] | None]
Render = Callable[[], str]
LINE_BREAK = re.compile(r"\r\n|\r|\n")  # exactly the line ends of the SSE format
FINISHED = ("thread.message.completed", "thread.message.incomplete")
RESPONSE_DELTA = "response.output_text.delta"
RESPONSE_FINISHED = ("response.output_text.done",)  # its item_id is the message's


def frame(event: str, data: dict[str, object] | str) -> bytes:
    """One SSE frame; text is sent line by line (EventSource joins them with newlines)."""
    text = data if isinstance(data, str) else json.dumps(data)
    lines = "".join(f"data: {line}\n" for line in LINE_BREAK.split(text))
    return f"event: {event}\n{lines}\n".encode()


@dataclass
class Typing:
    """Text of the messages being streamed that are not recorded as finished yet."""

    texts: dict[str, str] = field(default_factory=dict)
    finished: set[str] = field(default_factory=set)

    def feed(self, event: str, data: dict[str, Any]) -> bool:
        """Take one stream event (of either face); True when the text in progress changed."""
        if event in FINISHED or event in RESPONSE_FINISHED:
            mid = str(data.get("id") if event in FINISHED else data.get("item_id"))
            self.finished.add(mid)
            return self.texts.pop(mid, None) is not None
        if event == RESPONSE_DELTA:
            added, mid = str(data.get("delta", "")), str(data.get("item_id"))
        elif event == "thread.message.delta":
            added = "".join(str(part.get("text", {}).get("value", ""))
                            for part in data.get("delta", {}).get("content", [])
                            if part.get("type") == "text")
            mid = str(data.get("id"))
        else:
            return False
        if not added or mid in self.finished:
            return False
        self.texts[mid] = self.texts.get(mid, "") + added
        return True

    def snapshot(self) -> dict[str, object]:
        """What the page shows: the unfinished messages' text so far."""
        return {"messages": [{"id": k, "text": v} for k, v in self.texts.items()]}


async def _read(key: str, last: str, block_ms: int) -> tuple[str, list[tuple[str, Any]]]:
    """Block until the stream has entries after `last` (or a timeout): new cursor, events."""
    try:
        batches: Any = await get_async_redis().xread({key: last}, block=block_ms, count=500)
    except redis.RedisError as exc:
        log.info("inspector live stream falls back to polling: %s", exc)
        await asyncio.sleep(block_ms / 1000)
        return last, []
    events: list[tuple[str, Any]] = []
    for _key, entries in batches or []:
        for entry_id, fields in entries:
            last = entry_id.decode()
            try:
                events.append((fields[b"event"].decode(), json.loads(fields[b"data"])))
            except (KeyError, ValueError):
                continue
    return last, events


async def changes(run_id: str, version: int, state: State, render: Render, *,
                  block_ms: int = 1000, lifetime_s: float = 300.0) -> AsyncIterator[bytes]:
    """`changed` (the fragment) whenever the run moves past `version`; `end` once terminal."""
    key = stream_key(run_id)
    last = "0-0"  # from the start, so a late viewer still sees the text streamed so far
    typing = Typing()
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
        last, events = await _read(key, last, block_ms)
        if [e for e in events if typing.feed(*e)]:
            yield frame("typing", typing.snapshot())
    yield frame("reconnect", {"version": version})
