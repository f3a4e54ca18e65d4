"""Columns every tenant-owned table shares: ordering sequence, public id, tenant, created_at."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer
from sqlmodel import Field, SQLModel

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
SEQ_TYPE = BigInteger().with_variant(Integer(), "sqlite")


def now() -> int:
    """Current time as integer unix seconds (the wire format)."""
    return int(time.time())


class OwnedBase(SQLModel):
    """Mixin: `seq` orders rows (pagination), `id` is the public id, `tenant` the owner."""

    seq: int | None = Field(default=None, primary_key=True, sa_type=SEQ_TYPE)
    id: str = Field(max_length=64, unique=True, index=True)
    tenant: str = Field(max_length=64)
    created_at: int = Field(default_factory=now)


def json_field(default: Any = None, **kwargs: Any) -> Any:
    """A nullable JSON column."""
    if callable(default):
        return Field(default_factory=default, sa_type=JSON, **kwargs)
    return Field(default=default, sa_type=JSON, **kwargs)
