"""One lazily built object per process, safe when many pool threads ask for it at once."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
_UNSET = object()


class ProcessWide(Generic[T]):
    """Like lru_cache(maxsize=1) on a no-argument function, but built exactly once.

    functools.lru_cache does not hold a lock while the function runs, so threads that miss at
    the same moment each build their own copy: several engines, HTTP pools or concurrency caps
    in one worker.
    """

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._value: object = _UNSET
        functools.update_wrapper(self, build)

    def __call__(self) -> T:
        value = self._value
        if value is _UNSET:
            with self._lock:
                if self._value is _UNSET:
                    self._value = self._build()
                value = self._value
        return value  # type: ignore[return-value]

    def cache_clear(self) -> None:
        """Forget the object (a forked child builds its own)."""
        with self._lock:
            self._value = _UNSET


def process_wide(build: Callable[[], T]) -> ProcessWide[T]:
    """Decorator form of ProcessWide."""
    return ProcessWide(build)
