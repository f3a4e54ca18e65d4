"""Mark published outbox rows in batches, off the request and step paths."""

from __future__ import annotations

import atexit
import logging
import os
import threading

from sqlalchemy import update
from sqlmodel import Session, col

from orchestrator.db import get_engine
from orchestrator.models import EventRecord

log = logging.getLogger(__name__)
FLUSH_EVERY = 0.2  # seconds; well under the sweeper's 2 s republish cutoff


class PublishedMarks:
    """Collects ids of events already on their Redis Stream; one UPDATE per batch.

    A crash before a batch is written only means the sweeper publishes those events again,
    which stream readers drop by event id: marking late is safe, marking early never happens.
    """

    def __init__(self) -> None:
        self._ids: list[str] = []
        self._cond = threading.Condition()
        self._pid = 0

    def add(self, ids: list[str]) -> None:
        """Queue ids for marking (starts this process's flusher on first use)."""
        with self._cond:
            if self._pid != os.getpid():  # first use, or first use after a fork
                self._pid = os.getpid()
                self._ids = []
                threading.Thread(target=self._loop, name="outbox-marks", daemon=True).start()
            self._ids.extend(ids)

    def flush(self) -> None:
        """Write every queued mark now."""
        with self._cond:
            ids, self._ids = self._ids, []
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            try:
                with Session(get_engine()) as session:
                    session.exec(update(EventRecord).where(col(EventRecord.id).in_(chunk))
                                 .values(published=True))
                    session.commit()
            except Exception:  # the sweeper republishes whatever stays unmarked
                log.exception("marking %d outbox rows published failed", len(chunk))

    def _loop(self) -> None:
        while True:
            threading.Event().wait(FLUSH_EVERY)
            if self._ids:
                self.flush()


MARKS = PublishedMarks()
atexit.register(MARKS.flush)
