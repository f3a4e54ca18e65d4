"""The files table; contents live in blob storage under `storage_key`."""

from __future__ import annotations

from sqlalchemy import BigInteger, Index
from sqlmodel import Field

from orchestrator.models.base import OwnedBase


class FileRecord(OwnedBase, table=True):
    """An uploaded (or server-written) file's metadata."""

    __tablename__ = "files"
    __table_args__ = (
        Index("ix_files_tenant_seq", "tenant", "seq"),
        Index("ix_files_tenant_purpose_seq", "tenant", "purpose", "seq"),
    )

    bytes: int = Field(default=0, sa_type=BigInteger)
    filename: str = Field(max_length=512)
    purpose: str = Field(max_length=32)
    status: str = Field(default="processed", max_length=16)
    status_details: str | None = None
    expires_at: int | None = None
    storage_key: str = Field(max_length=256)
