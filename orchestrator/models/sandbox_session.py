"""Which sandbox host holds a code-interpreter session (a thread's, or a container's)."""

from __future__ import annotations

from sqlmodel import Field, SQLModel

from orchestrator.models.base import now


class SandboxSessionRecord(SQLModel, table=True):
    """The host (and the worker instance on it) that last started a job of the session.

    Written by the sandbox worker as each job starts; read when the session's next job is
    sent, to route it to that host's queue while the same worker lives there.
    """

    __tablename__ = "sandbox_sessions"

    tenant: str = Field(max_length=64, primary_key=True)
    session: str = Field(max_length=64, primary_key=True)
    host: str = Field(max_length=200)
    instance: str = Field(max_length=32)
    updated_at: int = Field(default_factory=now)
