"""One thread per worker process renews the leases of the runs it is working on."""

from __future__ import annotations

import logging
import threading
import time
from functools import partial

from orchestrator.config import get_settings
from orchestrator.db import again_if_disconnected, unit_of_work
from orchestrator.engine.execution import renew_leases

log = logging.getLogger(__name__)


class Heartbeat:
    """Keeps leases alive while model calls run; a killed process stops renewing them.

    A lease is renewed only once it is a heartbeat old: a step shorter than that (most model
    calls) costs no renewal, and the renewal UPDATE never queues on rows whose steps are being
    written. With lease > 2 x heartbeat, a renewal still lands well before the lease lapses.
    """

    def __init__(self) -> None:
        self._held: dict[str, tuple[str, float]] = {}  # run id -> (owner, lease expiry)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def hold(self, run_id: str, owner: str, expires_at: float) -> None:
        """Start renewing the lease `owner` holds on `run_id` (it lapses at `expires_at`)."""
        with self._lock:
            self._held[run_id] = (owner, expires_at)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="lease-heartbeat",
                                                daemon=True)
                self._thread.start()

    def release(self, run_id: str) -> None:
        """Stop renewing."""
        with self._lock:
            self._held.pop(run_id, None)

    def due(self, now: float) -> dict[str, str]:
        """The leases (run id -> owner) held for at least one heartbeat, to renew now."""
        s = get_settings()
        keep_above = s.lease_seconds - s.heartbeat_seconds
        with self._lock:
            return {run: owner for run, (owner, until) in self._held.items()
                    if until - now <= keep_above}

    def _renewed(self, held: dict[str, str], until: float) -> None:
        with self._lock:
            for run, owner in held.items():
                if self._held.get(run, ("", 0.0))[0] == owner:
                    self._held[run] = (owner, until)

    @staticmethod
    def _renew(held: dict[str, str], until: float) -> None:
        with unit_of_work() as session:
            renew_leases(session, held, until)

    def _loop(self) -> None:
        s = get_settings()
        stop = threading.Event()
        while not stop.wait(s.heartbeat_seconds):
            now = time.time()
            held = self.due(now)
            if not held:
                continue
            until = now + s.lease_seconds
            try:
                again_if_disconnected(partial(self._renew, held, until))
                self._renewed(held, until)
            except Exception:  # keep beating; the next tick tries again
                log.exception("lease heartbeat failed")


HEARTBEAT = Heartbeat()
