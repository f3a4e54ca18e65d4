"""Batch wire objects (openai.types.Batch) and the create body."""

from __future__ import annotations

from typing import Literal

from orchestrator.faces.assistants.schemas.common import Metadata, Request, Wire

BatchStatus = Literal["validating", "failed", "in_progress", "finalizing", "completed",
                      "expired", "cancelling", "cancelled"]


class CreateBatch(Request):
    """POST /v1/batches."""

    input_file_id: str
    endpoint: str
    completion_window: Literal["24h"]
    metadata: Metadata = None


class BatchError(Wire):
    """One problem found in the input file."""

    code: str | None = None
    line: int | None = None
    message: str | None = None
    param: str | None = None


class BatchErrors(Wire):
    """`errors` of a batch."""

    object: Literal["list"] = "list"
    data: list[BatchError] = []


class RequestCounts(Wire):
    """How many requests the batch has, and how many finished either way."""

    total: int
    completed: int
    failed: int


class Batch(Wire):
    """A batch of runs."""

    id: str
    object: Literal["batch"] = "batch"
    endpoint: str
    errors: BatchErrors | None = None
    input_file_id: str
    completion_window: str
    status: BatchStatus
    output_file_id: str | None = None
    error_file_id: str | None = None
    created_at: int
    in_progress_at: int | None = None
    expires_at: int | None = None
    finalizing_at: int | None = None
    completed_at: int | None = None
    failed_at: int | None = None
    expired_at: int | None = None
    cancelling_at: int | None = None
    cancelled_at: int | None = None
    request_counts: RequestCounts
    metadata: dict[str, str] | None = None
