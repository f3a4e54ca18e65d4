"""One thread per worker process renews the leases of the runs it is working on."""

from __future__ import annotations

import logging
import threading

from orchestrator.config import get_settings
from orchestrator.db import unit_of_work
from orchestrator.runs.execution import renew_leases

log = logging.getLogger(__name__)


class Heartbeat:
    """Keeps leases alive while model calls run; a killed process stops renewing them."""

    def __init__(self) -> None:
        self._held: dict[str, str] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def hold(self, run_id: str, owner: str) -> None:
        """Start renewing the lease `owner` holds on `run_id`."""
        with self._lock:
            self._held[run_id] = owner
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="lease-heartbeat",
                                                daemon=True)
                self._thread.start()

    def release(self, run_id: str) -> None:
        """Stop renewing."""
        with self._lock:
            self._held.pop(run_id, None)

    def _loop(self) -> None:
        interval = get_settings().heartbeat_seconds
        stop = threading.Event()
        while not stop.wait(interval):
            with self._lock:
                held = dict(self._held)
            try:
                with unit_of_work() as session:
                    renew_leases(session, held)
            except Exception:  # keep beating; the next tick tries again
                log.exception("lease heartbeat failed")


HEARTBEAT = Heartbeat()
