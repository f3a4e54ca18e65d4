"""File wire objects (openai.types.FileObject) and the purposes the API knows."""

from __future__ import annotations

from typing import Literal

from orchestrator.faces.assistants.schemas.common import Wire

FilePurpose = Literal["assistants", "assistants_output", "batch", "batch_output", "fine-tune",
                      "fine-tune-results", "vision", "user_data"]
UPLOAD_PURPOSES = ("assistants", "batch", "vision", "user_data")
SERVER_PURPOSES = ("assistants_output", "batch_output")
EXPIRY_ANCHORS = ("created_at",)
MIN_EXPIRY_SECONDS = 3600
MAX_EXPIRY_SECONDS = 2_592_000


class FileObject(Wire):
    """An uploaded or server-written file."""

    id: str
    object: Literal["file"] = "file"
    bytes: int
    created_at: int
    filename: str
    purpose: FilePurpose
    status: Literal["uploaded", "processed", "error"] = "processed"
    status_details: str | None = None
    expires_at: int | None = None


class FileDeleted(Wire):
    """DELETE /files/{id}: files say "object": "file", not "file.deleted"."""

    id: str
    object: Literal["file"] = "file"
    deleted: bool = True


UPLOAD_SCHEMA = {
    "type": "object",
    "required": ["file", "purpose"],
    "properties": {
        "file": {"type": "string", "format": "binary", "description": "The file's bytes."},
        "purpose": {"type": "string", "enum": list(UPLOAD_PURPOSES)},
        "expires_after[anchor]": {"type": "string", "enum": list(EXPIRY_ANCHORS)},
        "expires_after[seconds]": {"type": "integer", "minimum": MIN_EXPIRY_SECONDS,
                                   "maximum": MAX_EXPIRY_SECONDS},
    },
}
