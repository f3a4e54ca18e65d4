"""The messages table, indexed so a page of a long thread costs the same as of a short one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlmodel import Field

from orchestrator.models.base import OwnedBase, json_field


class MessageRecord(OwnedBase, table=True):
    """A message; `content` holds wire-shaped content parts, `attachments` the v2 attachments."""

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_thread_seq", "thread_id", "seq"),
        Index("ix_messages_thread_run_seq", "thread_id", "run_id", "seq"),
    )

    thread_id: str = Field(
        sa_type=String(64), sa_column_args=[ForeignKey("threads.id", ondelete="CASCADE")]
    )
    role: str = Field(max_length=16)
    content: list[dict[str, Any]] = json_field(list)
    attachments: list[dict[str, Any]] | None = json_field()
    status: str = Field(default="completed", max_length=16)
    incomplete_details: dict[str, Any] | None = json_field()
    completed_at: int | None = None
    incomplete_at: int | None = None
    assistant_id: str | None = Field(default=None, max_length=64)
    run_id: str | None = Field(default=None, max_length=64)
    meta: dict[str, str] | None = json_field(default=None, sa_column_kwargs={"name": "metadata"})


# Roles beyond user / assistant: a function call the model made in a run that ended on it
# (content: one {"type": "function_call", "function_call": {call_id, name, arguments}}), and
# the client's output for it (one {"type": "function_call_output", ...: {call_id, output}}).
TOOL_CALL = "tool_call"
TOOL_OUTPUT = "tool"
CHAT_ROLES = ("user", "assistant")  # the roles an Assistants thread shows


def function_call_id(run_id: str, index: int) -> str:
    """The message id of a run's index-th function call (known while it streams)."""
    return f"fc_{run_id.partition('_')[2]}_{index}"


def attachment_file_ids(attachments: list[dict[str, Any]] | None) -> list[str]:
    """The file ids of stored attachments (in order, without duplicates)."""
    return list(dict.fromkeys(a["file_id"] for a in attachments or [] if a.get("file_id")))
