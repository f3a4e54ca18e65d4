"""The idempotency_keys table: the first response to each (tenant, Idempotency-Key) POST."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Index, LargeBinary
from sqlmodel import Field, SQLModel

from orchestrator.models.base import json_field, now


class IdempotencyKeyRecord(SQLModel, table=True):
    """A key's claim while its request runs (status_code None), then the response it got."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_created_at", "created_at"),)

    tenant: str = Field(max_length=64, primary_key=True)
    key: str = Field(max_length=255, primary_key=True)
    created_at: int = Field(default_factory=now)
    request_hash: str | None = Field(default=None, max_length=64)
    status_code: int | None = None
    headers: list[Any] | None = json_field()
    body: bytes | None = Field(default=None, sa_type=LargeBinary)
