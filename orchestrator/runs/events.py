"""Record run events in the outbox (same transaction) and publish them after commit."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import event as sa_event
from sqlmodel import Session

from orchestrator.db import after_commit, insert
from orchestrator.models import EventRecord

PENDING = "pending_events"  # session.info: rows to publish once the transaction committed
UNWRITTEN = "unwritten_events"  # session.info: rows to INSERT when the transaction commits
FIRST_STREAM_ID = "first_stream_id"


def new_event_id() -> str:
    """A unique event id (also the webhook-id later)."""
    return "evt_" + secrets.token_hex(12)


def emit(session: Session, tenant: str, run_id: str, event: str, data: dict[str, Any]) -> None:
    """Add an outbox row; all rows of the transaction are published together after commit.

    The rows are written in one INSERT when the transaction commits (in emit order), not one
    ORM flush each.
    """
    row = EventRecord(id=new_event_id(), tenant=tenant, run_id=run_id, type=event, data=data)
    session.info.setdefault(UNWRITTEN, []).append(row)
    pending = session.info.get(PENDING)
    if pending is None:
        pending = session.info[PENDING] = []

        def _publish() -> None:
            from orchestrator.streaming import publish_outbox

            first = publish_outbox(session.info.pop(PENDING, []))
            session.info[FIRST_STREAM_ID] = first

        after_commit(session, _publish)
    pending.append(row)


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
