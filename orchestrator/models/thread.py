"""The threads table."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Index

from orchestrator.models.base import OwnedBase, json_field


class ThreadRecord(OwnedBase, table=True):
    """A conversation thread; `private` ones hold one response chain and are not listed."""

    __tablename__ = "threads"
    __table_args__ = (Index("ix_threads_tenant_seq", "tenant", "seq"),)

    tool_resources: dict[str, Any] | None = json_field()
    meta: dict[str, str] | None = json_field(default=None, sa_column_kwargs={"name": "metadata"})
    private: bool = False
