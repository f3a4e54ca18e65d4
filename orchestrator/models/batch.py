"""The batches table and its requests (one row per input line, linked to the run it became)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlmodel import Field, SQLModel

from orchestrator.models.base import SEQ_TYPE, OwnedBase, json_field


class BatchRecord(OwnedBase, table=True):
    """A batch of runs; status writes are compare-and-set on (status, version)."""

    __tablename__ = "batches"
    __table_args__ = (
        Index("ix_batches_tenant_seq", "tenant", "seq"),
        Index("ix_batches_status", "status"),
    )

    endpoint: str = Field(max_length=64)
    input_file_id: str = Field(max_length=64)
    completion_window: str = Field(default="24h", max_length=16)
    status: str = Field(default="validating", max_length=16)
    version: int = 0
    meta: dict[str, str] | None = json_field(default=None, sa_column_kwargs={"name": "metadata"})
    total: int = 0
    # Lines [0, fed) have become runs (or line errors); the feeder's cursor.
    fed: int = 0
    completed: int = 0  # frozen counts, written when the batch ends
    failed: int = 0
    output_file_id: str | None = Field(default=None, max_length=64)
    error_file_id: str | None = Field(default=None, max_length=64)
    errors: dict[str, Any] | None = json_field()
    in_progress_at: int | None = None
    expires_at: int | None = None
    finalizing_at: int | None = None
    completed_at: int | None = None
    failed_at: int | None = None
    expired_at: int | None = None
    cancelling_at: int | None = None
    cancelled_at: int | None = None


class BatchRequestRecord(SQLModel, table=True):
    """One input line: its custom_id and body, then the run it became or why it did not."""

    __tablename__ = "batch_requests"
    __table_args__ = (
        Index("ux_batch_requests_line", "batch_id", "line", unique=True),
        Index("ix_batch_requests_run", "run_id"),
    )

    seq: int | None = Field(default=None, primary_key=True, sa_type=SEQ_TYPE)
    batch_id: str = Field(
        sa_type=String(64), sa_column_args=[ForeignKey("batches.id", ondelete="CASCADE")]
    )
    line: int  # 1-based line number in the input file
    custom_id: str = Field(max_length=512)
    thread_id: str | None = Field(default=None, max_length=64)  # for /threads/{id}/runs lines
    body: dict[str, Any] = json_field(dict)
    run_id: str | None = Field(default=None, max_length=64)
    error: dict[str, Any] | None = json_field()  # the run service refused the line at feed time
