"""The runs table: one row per run, written only by compare-and-set on (status, version)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlmodel import Field

from orchestrator.models.base import OwnedBase, json_field

ACTIVE_SQL = "status IN ('queued', 'in_progress', 'requires_action', 'cancelling')"


class RunRecord(OwnedBase, table=True):
    """A run; `version` increments on every write, the lease marks live work."""

    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_thread_seq", "thread_id", "seq"),
        Index("ix_runs_status_lease", "status", "lease_expires_at"),
        # The run inspector's tenant-wide lists (newest first, optionally by status).
        Index("ix_runs_tenant_seq", "tenant", "seq"),
        Index("ix_runs_tenant_status_seq", "tenant", "status", "seq"),
        # One active run per thread, enforced by the database itself.
        Index("ux_runs_thread_active", "thread_id", unique=True,
              sqlite_where=text(ACTIVE_SQL), postgresql_where=text(ACTIVE_SQL)),
    )

    thread_id: str = Field(
        sa_type=String(64), sa_column_args=[ForeignKey("threads.id", ondelete="CASCADE")]
    )
    assistant_id: str = Field(max_length=64)
    status: str = Field(default="queued", max_length=16)
    version: int = 0
    model: str = Field(max_length=256)
    instructions: str = Field(default="", sa_type=Text)
    tools: list[dict[str, Any]] = json_field(list)
    file_ids: list[str] = json_field(list)
    meta: dict[str, str] | None = json_field(default=None, sa_column_kwargs={"name": "metadata"})
    temperature: float | None = None
    top_p: float | None = None
    max_prompt_tokens: int | None = None
    max_completion_tokens: int | None = None
    truncation_strategy: dict[str, Any] | None = json_field()
    tool_choice: Any | None = json_field(nullable=True)
    parallel_tool_calls: bool = True
    response_format: Any | None = json_field(nullable=True)
    reasoning_effort: str | None = Field(default=None, max_length=16)
    required_action: dict[str, Any] | None = json_field()
    last_error: dict[str, Any] | None = json_field()
    incomplete_details: dict[str, Any] | None = json_field()
    usage: dict[str, int] | None = json_field()
    started_at: int | None = None
    expires_at: int | None = None
    cancelled_at: int | None = None
    failed_at: int | None = None
    completed_at: int | None = None
    stream: bool = False
    steps_taken: int = 0
    attempts: int = 0
    not_before: float | None = None
    # The API generation that created the run and renders it (its listeners get its events),
    # and the fields only that face reads (a response's store, background, input ids …).
    face: str = Field(default="assistants", max_length=16)
    face_data: dict[str, Any] | None = json_field()
    # Function calls end the run `completed`, recorded as `tool_call` messages of the thread
    # (the client answers with `tool` messages in its next run), instead of requires_action.
    end_on_function_calls: bool = False
    # Built-in tool calls (file_search, code_interpreter) the run may make; then the model is
    # offered only its functions.
    max_tool_calls: int | None = None
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_expires_at: float | None = None
    updated_at: float = 0.0
