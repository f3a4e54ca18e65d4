"""The event outbox: every run change writes its event here in the same transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Index, Integer
from sqlmodel import Field, SQLModel

from orchestrator.models.base import json_field, now

SEQ = BigInteger().with_variant(Integer(), "sqlite")


class EventRecord(SQLModel, table=True):
    """An event (e.g. thread.run.completed) awaiting publication to streams and webhooks."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_unpublished", "published", "seq"),
        Index("ix_events_run_seq", "run_id", "seq"),
    )

    seq: int | None = Field(default=None, primary_key=True, sa_type=SEQ)
    id: str = Field(max_length=64, unique=True)
    tenant: str = Field(max_length=64)
    run_id: str = Field(max_length=64)
    type: str = Field(max_length=64)
    data: dict[str, Any] = json_field(dict)
    created_at: int = Field(default_factory=now)
    published: bool = False
