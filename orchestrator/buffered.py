"""A per-process buffer that one daemon thread hands to a writer every few tenths of a second."""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
KEEP = 100_000  # most items kept across failed writes (a long outage drops the oldest)


class Buffered(Generic[T]):
    """Items added from any thread, written in batches off the caller's path.

    The flusher thread starts on first use, again after a fork (a forked child has none), and
    everything left is written at exit. A write that raises keeps its items for the next try
    when `retry` is set, otherwise they are dropped: callers choose by what a loss costs.
    """

    def __init__(self, name: str, every: float, write: Callable[[list[T]], object], *,
                 retry: bool = False) -> None:
        self._name, self._every, self._write, self._retry = name, every, write, retry
        self._items: list[T] = []
        self._lock = threading.Lock()
        self._pid = 0
        atexit.register(self.flush)

    def add(self, items: Iterable[T]) -> None:
        """Queue items for the next write."""
        with self._lock:
            if self._pid != os.getpid():  # first use, or first use after a fork
                self._pid = os.getpid()
                self._items = []
                threading.Thread(target=self._loop, name=self._name, daemon=True).start()
            self._items.extend(items)

    def flush(self) -> None:
        """Write everything queued now."""
        with self._lock:
            items, self._items = self._items, []
        if not items:
            return
        try:
            self._write(items)
        except Exception:
            log.warning("%s: writing %d items failed", self._name, len(items), exc_info=True)
            if self._retry:
                with self._lock:
                    self._items[:0] = items[-KEEP:]

    def _loop(self) -> None:
        wait = threading.Event().wait
        while True:
            wait(self._every)
            self.flush()
