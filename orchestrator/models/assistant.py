"""The assistants table."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Index, Text
from sqlmodel import Field

from orchestrator.models.base import OwnedBase, json_field


class AssistantRecord(OwnedBase, table=True):
    """An assistant; `file_links` holds v1 attached files as [{"id", "created_at"}]."""

    __tablename__ = "assistants"
    __table_args__ = (Index("ix_assistants_tenant_seq", "tenant", "seq"),)

    name: str | None = Field(default=None, max_length=256)
    description: str | None = Field(default=None, max_length=512)
    model: str = Field(max_length=256)
    instructions: str | None = Field(default=None, sa_type=Text)
    tools: list[dict[str, Any]] = json_field(list)
    tool_resources: dict[str, Any] | None = json_field()
    file_links: list[dict[str, Any]] = json_field(list)
    meta: dict[str, str] | None = json_field(default=None, sa_column_kwargs={"name": "metadata"})
    temperature: float | None = None
    top_p: float | None = None
    response_format: Any | None = json_field(nullable=True)
    reasoning_effort: str | None = Field(default=None, max_length=16)
