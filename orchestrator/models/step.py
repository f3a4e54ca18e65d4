"""The run steps table; (run_id, ordinal) makes a step's write idempotent."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlmodel import Field

from orchestrator.models.base import OwnedBase, json_field


class RunStepRecord(OwnedBase, table=True):
    """One recorded step of a run (message_creation or tool_calls)."""

    __tablename__ = "run_steps"
    __table_args__ = (
        Index("ix_run_steps_run_seq", "run_id", "seq"),
        UniqueConstraint("run_id", "ordinal", name="ux_run_steps_run_ordinal"),
    )

    run_id: str = Field(
        sa_type=String(64), sa_column_args=[ForeignKey("runs.id", ondelete="CASCADE")]
    )
    ordinal: int
    thread_id: str = Field(max_length=64)
    assistant_id: str = Field(max_length=64)
    type: str = Field(max_length=32)
    status: str = Field(default="in_progress", max_length=16)
    step_details: dict[str, Any] = json_field(dict)
    last_error: dict[str, Any] | None = json_field()
    expired_at: int | None = None
    cancelled_at: int | None = None
    failed_at: int | None = None
    completed_at: int | None = None
    meta: dict[str, str] | None = json_field(default=None, sa_column_kwargs={"name": "metadata"})
    usage: dict[str, int] | None = json_field()
    started: float = 0.0
