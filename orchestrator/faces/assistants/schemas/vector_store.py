"""Vector store request bodies and wire objects (v2)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from orchestrator.faces.assistants.schemas.common import ChunkingStrategy, Metadata, Request, Wire

Attributes = dict[str, str | float | bool] | None
FileStatus = Literal["in_progress", "completed", "failed", "cancelled"]


class ExpiresAfter(Request):
    """{"anchor": "last_active_at", "days": 1-365}."""

    anchor: Literal["last_active_at"]
    days: int = Field(ge=1, le=365)


class CreateVectorStore(Request):
    """POST /vector_stores."""

    file_ids: list[str] | None = Field(default=None, max_length=500)
    name: str | None = Field(default=None, max_length=256)
    description: str | None = Field(default=None, max_length=512)
    expires_after: ExpiresAfter | None = None
    chunking_strategy: ChunkingStrategy | None = None
    metadata: Metadata = None


class ModifyVectorStore(Request):
    """POST /vector_stores/{id}: only the fields sent change."""

    name: str | None = Field(default=None, max_length=256)
    expires_after: ExpiresAfter | None = None
    metadata: Metadata = None


class CreateVectorStoreFile(Request):
    """POST /vector_stores/{id}/files."""

    file_id: str = Field(min_length=1, max_length=64)
    chunking_strategy: ChunkingStrategy | None = None
    attributes: Attributes = None


class UpdateVectorStoreFile(Request):
    """POST /vector_stores/{id}/files/{file_id}: attributes only."""

    attributes: Attributes


class CreateFileBatch(Request):
    """POST /vector_stores/{id}/file_batches (file_ids, or files with their own options)."""

    file_ids: list[str] | None = Field(default=None, min_length=1, max_length=2000)
    files: list[CreateVectorStoreFile] | None = Field(default=None, min_length=1,
                                                      max_length=2000)
    chunking_strategy: ChunkingStrategy | None = None
    attributes: Attributes = None

    @model_validator(mode="after")
    def _one_of(self) -> CreateFileBatch:
        if (self.file_ids is None) == (self.files is None):
            raise ValueError("give exactly one of 'file_ids' or 'files'")
        return self


class SearchRanking(Request):
    """Ranking options of a search request."""

    ranker: Literal["none", "auto", "default-2024-11-15"] | None = None
    score_threshold: float | None = Field(default=None, ge=0, le=1)


class SearchRequest(Request):
    """POST /vector_stores/{id}/search (attribute filters are accepted and applied)."""

    query: str | list[str]
    rewrite_query: bool | None = None
    max_num_results: int = Field(default=10, ge=1, le=50)
    filters: dict[str, Any] | None = None
    ranking_options: SearchRanking | None = None


class FileCounts(Wire):
    """Files of a store or batch by status."""

    in_progress: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0
    total: int = 0


class VectorStore(Wire):
    """The vector store object."""

    id: str
    object: Literal["vector_store"] = "vector_store"
    created_at: int
    name: str
    usage_bytes: int
    file_counts: FileCounts
    status: Literal["expired", "in_progress", "completed"]
    expires_after: dict[str, Any] | None
    expires_at: int | None
    last_active_at: int | None
    metadata: dict[str, str] | None


class VectorStoreFile(Wire):
    """The vector store file object."""

    id: str
    object: Literal["vector_store.file"] = "vector_store.file"
    usage_bytes: int
    created_at: int
    vector_store_id: str
    status: FileStatus
    last_error: dict[str, Any] | None
    chunking_strategy: dict[str, Any]
    attributes: dict[str, Any] | None


class FileBatch(Wire):
    """The vector store file batch object."""

    id: str
    object: Literal["vector_store.files_batch"] = "vector_store.files_batch"
    created_at: int
    vector_store_id: str
    status: FileStatus
    file_counts: FileCounts


class SearchResult(Wire):
    """One search hit."""

    file_id: str
    filename: str
    score: float
    attributes: dict[str, Any] | None
    content: list[dict[str, str]]


class SearchPage(Wire):
    """The search results page."""

    object: Literal["vector_store.search_results.page"] = "vector_store.search_results.page"
    search_query: list[str]
    data: list[SearchResult]
    has_more: bool = False
    next_page: str | None = None


class FileContent(Wire):
    """One part of a file's parsed content."""

    type: Literal["text"] = "text"
    text: str


class FileContentPage(Wire):
    """GET /vector_stores/{id}/files/{file_id}/content."""

    object: Literal["vector_store.file_content.page"] = "vector_store.file_content.page"
    data: list[FileContent]
    has_more: bool = False
    next_page: str | None = None
