"""Mark published outbox rows in batches, off the request and step paths."""

from __future__ import annotations

from functools import partial

from sqlalchemy import update
from sqlmodel import Session, col

from orchestrator.buffered import Buffered
from orchestrator.db import again_if_disconnected, get_engine
from orchestrator.models import EventRecord

FLUSH_EVERY = 0.2  # seconds; well under the sweeper's 2 s republish cutoff
CHUNK = 500


def _mark(ids: list[str]) -> None:
    """One UPDATE per 500 ids.

    A crash before a batch is written only means the sweeper publishes those events again,
    which stream readers drop by event id: marking late is safe, marking early never happens.
    """
    for start in range(0, len(ids), CHUNK):
        again_if_disconnected(partial(_mark_chunk, ids[start:start + CHUNK]))


def _mark_chunk(ids: list[str]) -> None:
    with Session(get_engine()) as session:
        session.exec(update(EventRecord).where(col(EventRecord.id).in_(ids))
                     .values(published=True))
        session.commit()


MARKS: Buffered[str] = Buffered("outbox-marks", FLUSH_EVERY, _mark)
