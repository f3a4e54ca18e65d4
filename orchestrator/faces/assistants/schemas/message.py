"""Message request bodies and wire objects (v2, with the v1 variant and v1 message files)."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Discriminator, Field, Tag, field_validator

from orchestrator.faces.assistants.schemas.common import (
    CodeInterpreterTool,
    Metadata,
    Request,
    Wire,
)

MAX_TEXT = 256_000
MAX_PARTS = 100
MAX_FILES = 10  # v1's cap on message file_ids; v2 attachments get the same cap
Detail = Literal["auto", "low", "high"]


class TextPart(Request):
    """{"type": "text", "text": "..."} in a create request."""

    type: Literal["text"]
    text: str = Field(min_length=1, max_length=MAX_TEXT)


class ImageFileRef(Request):
    """An uploaded image referenced by file id."""

    file_id: str = Field(min_length=1, max_length=64)
    detail: Detail | None = None


class ImageFilePart(Request):
    """{"type": "image_file", "image_file": {...}}."""

    type: Literal["image_file"]
    image_file: ImageFileRef


class ImageUrlRef(Request):
    """An external image; only http(s) URLs are accepted."""

    url: str = Field(min_length=1, max_length=8192)
    detail: Detail | None = None

    @field_validator("url")
    @classmethod
    def _http_only(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            raise ValueError("expected an http or https URL")
        return value


class ImageUrlPart(Request):
    """{"type": "image_url", "image_url": {...}}."""

    type: Literal["image_url"]
    image_url: ImageUrlRef


ContentPart = Annotated[TextPart | ImageFilePart | ImageUrlPart, Field(discriminator="type")]


def _content_kind(value: Any) -> str | None:
    if isinstance(value, str):
        return "text(str)"
    if isinstance(value, list):
        return "parts(list)"
    return None


# The tags contain "(" so the error renderer drops them from `param` ("content[0].text").
Content = Annotated[
    Annotated[str, Field(min_length=1, max_length=MAX_TEXT), Tag("text(str)")]
    | Annotated[list[ContentPart], Field(min_length=1, max_length=MAX_PARTS), Tag("parts(list)")],
    Discriminator(
        _content_kind,
        custom_error_type="content_type",
        custom_error_message="expected a string or an array of content parts",
    ),
]


class FileSearchTypeOnly(Request):
    """{"type": "file_search"} as an attachment tool."""

    type: Literal["file_search"]


AttachmentTool = Annotated[CodeInterpreterTool | FileSearchTypeOnly, Field(discriminator="type")]


class Attachment(Request):
    """A file attached to a v2 message and the tools it is meant for."""

    file_id: str = Field(min_length=1, max_length=64)
    tools: list[AttachmentTool] = Field(default_factory=list, max_length=2)


class CreateMessage(Request):
    """POST /threads/{id}/messages (also each of a new thread's `messages`)."""

    role: Literal["user", "assistant"]
    content: Content
    attachments: list[Attachment] | None = Field(default=None, max_length=MAX_FILES)
    file_ids: list[str] | None = Field(default=None, max_length=MAX_FILES)
    metadata: Metadata = None


class ModifyMessage(Request):
    """POST /threads/{id}/messages/{id}: metadata only."""

    metadata: Metadata = None


class MessageBase(Wire):
    """Fields every API version's message object has."""

    id: str
    object: Literal["thread.message"] = "thread.message"
    created_at: int
    thread_id: str
    status: str
    incomplete_details: dict[str, Any] | None
    completed_at: int | None
    incomplete_at: int | None
    role: str
    content: list[dict[str, Any]]
    assistant_id: str | None
    run_id: str | None
    metadata: dict[str, str] | None


class Message(MessageBase):
    """The v2 message object."""

    attachments: list[dict[str, Any]] | None


class MessageV1(MessageBase):
    """The v1 message object (`file_ids` instead of `attachments`)."""

    file_ids: list[str]


class MessageFile(Wire):
    """The v1 message file object."""

    id: str
    object: Literal["thread.message.file"] = "thread.message.file"
    created_at: int
    message_id: str
