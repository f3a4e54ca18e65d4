"""Record run events in the outbox (same transaction) and publish them after commit."""

from __future__ import annotations

import secrets
from functools import partial
from typing import Any

from sqlalchemy import event as sa_event
from sqlmodel import Session

from orchestrator.db import after_commit, insert
from orchestrator.models import EventRecord
from orchestrator.streaming.relay import PUBLISHER, publish_outbox

PENDING = "pending_events"  # session.info: rows to publish once the transaction committed
LATER = "later_events"  # session.info: rows for the background publisher after commit
UNWRITTEN = "unwritten_events"  # session.info: rows to INSERT when the transaction commits
FIRST_STREAM_ID = "first_stream_id"


def new_event_id() -> str:
    """A unique event id (also the webhook-id later)."""
    return "evt_" + secrets.token_hex(12)


def emit(session: Session, tenant: str, run_id: str, event: str, data: dict[str, Any], *,
         live: bool = True) -> None:
    """Add an outbox row; all rows of the transaction are published together after commit.

    The rows are written in one INSERT when the transaction commits (in emit order), not one
    ORM flush each. A row that no client is waiting for (`live=False`: a run that does not
    stream) is published by this process's background publisher instead, in a batch.
    """
    row = EventRecord(id=new_event_id(), tenant=tenant, run_id=run_id, type=event, data=data)
    session.info.setdefault(UNWRITTEN, []).append(row)
    key = PENDING if live else LATER
    pending = session.info.get(key)
    if pending is None:
        pending = session.info[key] = []
        after_commit(session, partial(_publish if live else _hand_over, session))
    pending.append(row)


def _publish(session: Session) -> None:
    session.info[FIRST_STREAM_ID] = publish_outbox(session.info.pop(PENDING, []))


def _hand_over(session: Session) -> None:
    PUBLISHER.add(session.info.pop(LATER, []))


@sa_event.listens_for(Session, "before_commit")
def _write_events(session: Session) -> None:
    """INSERT the transaction's outbox rows just before it commits."""
    rows = session.info.pop(UNWRITTEN, None)
    if rows:
        insert(session, *rows)


@sa_event.listens_for(Session, "after_rollback")
def _drop_events(session: Session) -> None:
    """A rolled-back transaction's outbox rows are not written by a later commit."""
    session.info.pop(UNWRITTEN, None)
