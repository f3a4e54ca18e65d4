"""Containers (a code-interpreter session the client names) and the files in them."""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, UniqueConstraint
from sqlmodel import Field

from orchestrator.models.base import OwnedBase, now


class ContainerRecord(OwnedBase, table=True):
    """A container: its sandbox session lives as long as it is used within its expiry."""

    __tablename__ = "containers"
    __table_args__ = (Index("ix_containers_tenant_seq", "tenant", "seq"),)

    name: str = Field(default="", max_length=256)
    expires_minutes: int = 20  # after last_active_at
    last_active_at: int = Field(default_factory=now)
    memory_limit: str = Field(default="1g", max_length=8)


class ContainerFileRecord(OwnedBase, table=True):
    """A file at `path` in a container; its bytes are those of file `file_id`."""

    __tablename__ = "container_files"
    __table_args__ = (
        UniqueConstraint("container_id", "path", name="ux_container_files_path"),
        Index("ix_container_files_container_seq", "container_id", "seq"),
    )

    container_id: str = Field(max_length=64)
    file_id: str = Field(max_length=64)
    path: str = Field(max_length=1024)
    source: str = Field(default="user", max_length=16)  # "user" or "assistant"
    bytes: int = Field(default=0, sa_type=BigInteger)
