"""Backpressure in front of the model: a 429 pause with one probe, and a concurrency cap."""

from __future__ import annotations

import threading
import time

POLL = 0.05  # seconds between looks at the gate while it is shut


class ModelGate:
    """Holds this process's model calls while the provider asked us to wait.

    A 429 shuts the gate for its `Retry-After` (or our own pause). When that has passed, one
    call goes through as a probe while the others keep waiting; the probe's success opens the
    gate for all, another 429 shuts it again. A storm thus costs one rejected call per pause
    instead of one per waiting run, and runs that were not claimed yet stay in the broker.
    """

    def __init__(self, max_in_flight: int = 0) -> None:
        self._lock = threading.Lock()
        self._resume_at = 0.0
        self._shut = False
        self._probing = False
        self._slots = threading.BoundedSemaphore(max_in_flight) if max_in_flight > 0 else None

    def pause(self, seconds: float) -> None:
        """Shut the gate for `seconds` (the longest pause asked for wins)."""
        with self._lock:
            self._shut, self._probing = True, False
            self._resume_at = max(self._resume_at, time.monotonic() + seconds)

    def paused_for(self) -> float:
        """Seconds left of the current pause (0 when calls may start or probe)."""
        with self._lock:
            return max(0.0, self._resume_at - time.monotonic())

    def wait_pause(self) -> None:
        """Block until the pause is over (the probe, if any, may still be under way)."""
        while (left := self.paused_for()) > 0:
            time.sleep(min(left, 1.0))

    def enter(self) -> bool:
        """Block until this call may go; True when it goes as the probe of a shut gate."""
        while True:
            with self._lock:
                if not self._shut:
                    return False
                if time.monotonic() >= self._resume_at and not self._probing:
                    self._probing = True
                    return True
            time.sleep(POLL)

    def probe_done(self, rate_limited: bool) -> None:
        """The probe came back: open the gate unless it was another 429 (pause() shut it)."""
        if not rate_limited:
            with self._lock:
                self._shut = self._probing = False

    def __enter__(self) -> ModelGate:
        if self._slots is not None:
            self._slots.acquire()
        return self

    def __exit__(self, *_: object) -> None:
        if self._slots is not None:
            self._slots.release()
