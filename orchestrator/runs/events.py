"""Record run events in the outbox (same transaction) and publish them after commit."""

from __future__ import annotations

import secrets
from typing import Any

from sqlmodel import Session

from orchestrator.db import after_commit
from orchestrator.models import EventRecord

PENDING = "pending_events"
FIRST_STREAM_ID = "first_stream_id"


def new_event_id() -> str:
    """A unique event id (also the webhook-id later)."""
    return "evt_" + secrets.token_hex(12)


def emit(session: Session, tenant: str, run_id: str, event: str, data: dict[str, Any]) -> None:
    """Add an outbox row; all rows of the transaction are published together after commit."""
    row = EventRecord(id=new_event_id(), tenant=tenant, run_id=run_id, type=event, data=data)
    session.add(row)
    pending = session.info.get(PENDING)
    if pending is None:
        pending = session.info[PENDING] = []

        def _publish() -> None:
            from orchestrator.streaming import publish_outbox

            first = publish_outbox(session.info.pop(PENDING, []))
            session.info[FIRST_STREAM_ID] = first

        after_commit(session, _publish)
    pending.append(row)
