"""Vector stores, their files, file batches and the indexed chunks of those files."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from orchestrator.models.base import OwnedBase, json_field, now

SEQ = BigInteger().with_variant(Integer(), "sqlite")


class VectorStoreRecord(OwnedBase, table=True):
    """A vector store; `internal` marks the hidden per-tenant store of v1 retrieval files."""

    __tablename__ = "vector_stores"
    __table_args__ = (Index("ix_vector_stores_tenant_seq", "tenant", "internal", "seq"),)

    name: str = Field(default="", max_length=256)
    internal: bool = False
    expires_after: dict[str, Any] | None = json_field()
    expires_at: int | None = None
    last_active_at: int | None = None
    meta: dict[str, str] | None = json_field(default=None, sa_column_kwargs={"name": "metadata"})


class VectorStoreFileRecord(SQLModel, table=True):
    """A file in a store; `id` is the file's id, unique within its store."""

    __tablename__ = "vector_store_files"
    __table_args__ = (
        UniqueConstraint("vector_store_id", "id", name="ux_vector_store_files_store_file"),
        Index("ix_vector_store_files_store_seq", "vector_store_id", "seq"),
        Index("ix_vector_store_files_batch", "batch_id", "seq"),
        Index("ix_vector_store_files_status", "status", "updated_at"),
    )

    seq: int | None = Field(default=None, primary_key=True, sa_type=SEQ)
    id: str = Field(max_length=64, index=True)
    tenant: str = Field(max_length=64)
    vector_store_id: str = Field(max_length=64)
    batch_id: str | None = Field(default=None, max_length=64)
    created_at: int = Field(default_factory=now)
    status: str = Field(default="in_progress", max_length=16)
    version: int = 0
    last_error: dict[str, Any] | None = json_field()
    usage_bytes: int = Field(default=0, sa_type=BigInteger)
    chunking_strategy: dict[str, Any] = json_field(dict)
    attributes: dict[str, Any] | None = json_field()
    updated_at: float = 0.0


class VectorStoreFileBatchRecord(OwnedBase, table=True):
    """A batch of files added together; its counts come from its files' rows."""

    __tablename__ = "vector_store_file_batches"

    vector_store_id: str = Field(max_length=64, index=True)
    cancelled: bool = False


class ChunkRecord(SQLModel, table=True):
    """One indexed passage of a file in a store (full-text indexed by the migration)."""

    __tablename__ = "retrieval_chunks"
    __table_args__ = (Index("ix_retrieval_chunks_store_file", "vector_store_id", "file_id",
                            "ordinal"),)

    seq: int | None = Field(default=None, primary_key=True, sa_type=SEQ)
    tenant: str = Field(max_length=64)
    vector_store_id: str = Field(max_length=64)
    file_id: str = Field(max_length=64)
    ordinal: int
    tokens: int = 0
    text: str = Field(sa_type=Text)
    embedding: bytes | None = Field(default=None, sa_type=LargeBinary)
