"""POST /files bodies: multipart parsed as it streams in, the file part written to the store."""

from __future__ import annotations

from dataclasses import dataclass

import anyio.to_thread
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from orchestrator.config import get_settings
from orchestrator.errors import InvalidRequest, PayloadTooLarge
from orchestrator.faces.assistants.services import files as svc
from orchestrator.models import FileRecord
from orchestrator.storage import BlobStore, BlobWriter, get_store

FIELDS = ("purpose", "expires_after[anchor]", "expires_after[seconds]")
MAX_FIELD_BYTES = 1024
FORM_OVERHEAD = 64 * 1024  # boundaries, part headers and the small text fields


@dataclass(frozen=True)
class Upload:
    """What a complete, valid upload body said."""

    filename: str
    purpose: str
    size: int
    expires_in: int | None


def too_large(limit: int) -> PayloadTooLarge:
    """The 413 for an upload over the limit."""
    return PayloadTooLarge(f"The file is too large: uploads are limited to {limit} bytes.",
                           param="file")


def missing(param: str) -> InvalidRequest:
    """The 400 for a required part the body lacks."""
    return InvalidRequest(f"Missing required parameter: '{param}'.", param=param,
                          code="missing_required_parameter")


class UploadParser:
    """Feeds body chunks to python-multipart; the `file` part goes straight to a blob writer."""

    def __init__(self, boundary: bytes, store: BlobStore, key: str, max_bytes: int) -> None:
        self._store, self._key, self._max = store, key, max_bytes
        self._parser = MultipartParser(boundary, callbacks={
            "on_part_begin": self._part_begin, "on_header_field": self._header_field,
            "on_header_value": self._header_value, "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished, "on_part_data": self._part_data,
            "on_part_end": self._part_end, "on_end": self._end,
        })
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self._writer: BlobWriter | None = None
        self._headers: dict[str, str] = {}
        self._hname, self._hvalue, self._buf = bytearray(), bytearray(), bytearray()
        self._part: str | None = None
        self._ended = False

    def feed(self, chunk: bytes) -> None:
        """Parse one chunk of the body."""
        try:
            self._parser.write(chunk)
        except FormParserError as exc:
            raise InvalidRequest(f"Could not parse the multipart/form-data body: {exc}.") from None

    def finish(self) -> Upload:
        """Check the complete body and publish the blob."""
        if not self._ended:
            raise InvalidRequest("The multipart/form-data body ended before its closing boundary.")
        if "purpose" not in self.fields:
            raise missing("purpose")
        if self._writer is None or self.filename is None:
            raise missing("file")
        expires_in = svc.check_expiry(self.fields.get("expires_after[anchor]"),
                                      self.fields.get("expires_after[seconds]"))
        size = self._writer.commit()
        return Upload(self.filename, self.fields["purpose"], size, expires_in)

    def abort(self) -> None:
        """Drop whatever was written."""
        if self._writer is not None:
            self._writer.abort()

    def _part_begin(self) -> None:
        self._headers, self._part = {}, None
        self._buf.clear()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._hname += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._hvalue += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._hname.decode("latin-1").lower()] = self._hvalue.decode("latin-1")
        self._hname.clear()
        self._hvalue.clear()

    def _headers_finished(self) -> None:
        kind, options = parse_options_header(self._headers.get("content-disposition"))
        if kind != b"form-data" or b"name" not in options:
            raise InvalidRequest("Every multipart part needs 'Content-Disposition: form-data;"
                                 " name=\"…\"'.")
        name = _text(options[b"name"])
        if name == "file":
            if self._writer is not None:
                raise InvalidRequest("Only one 'file' may be uploaded per request.", param="file")
            self.filename = svc.clean_filename(_text(options.get(b"filename", b"")))
            self._writer = self._store.writer(self._key)
        elif name not in FIELDS:
            raise InvalidRequest(f"Unrecognized request argument supplied: {name}",
                                 param=name, code="unknown_parameter")
        self._part = name

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._part == "file" and self._writer is not None:
            if self._writer.bytes_written + (end - start) > self._max:
                raise too_large(self._max)
            self._writer.write(data[start:end])
            return
        if len(self._buf) + (end - start) > MAX_FIELD_BYTES:
            raise InvalidRequest(f"'{self._part}' is longer than {MAX_FIELD_BYTES} bytes.",
                                 param=self._part)
        self._buf += data[start:end]

    def _part_end(self) -> None:
        if self._part is None or self._part == "file":
            return
        value = _text(bytes(self._buf)).strip()
        if self._part == "purpose":
            svc.check_purpose(value)  # fail before the file part streams in, if it comes later
        self.fields[self._part] = value

    def _end(self) -> None:
        self._ended = True


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def boundary_of(content_type: str | None) -> bytes:
    """The multipart boundary, or a 400 for any other kind of body."""
    kind, options = parse_options_header(content_type)
    if kind != b"multipart/form-data":
        raise InvalidRequest("Expected a multipart/form-data body with 'file' and 'purpose'"
                             f" (got Content-Type '{content_type or ''}').")
    boundary = options.get(b"boundary")
    if not boundary or len(boundary) > 200:
        raise InvalidRequest("The multipart/form-data Content-Type has no usable boundary.")
    return boundary


def check_declared_length(value: str | None, limit: int) -> None:
    """Refuse a body whose Content-Length already says it is over the limit."""
    if value and value.isdigit() and int(value) > limit + FORM_OVERHEAD:
        raise too_large(limit)


async def receive_upload(request: Request, tenant: str) -> FileRecord:
    """Stream the body into the store, then commit the file's row; nothing is left on failure."""
    limit = get_settings().max_upload_bytes
    boundary = boundary_of(request.headers.get("content-type"))
    check_declared_length(request.headers.get("content-length"), limit)
    file_id = svc.new_file_id()
    parser = UploadParser(boundary, get_store(), svc.storage_key(tenant, file_id), limit)

    def complete() -> FileRecord:
        up = parser.finish()
        return svc.record_upload(tenant, file_id, up.filename, up.purpose, up.size, up.expires_in)

    try:
        async for chunk in request.stream():
            if chunk:
                await anyio.to_thread.run_sync(parser.feed, chunk)
        return await anyio.to_thread.run_sync(complete)
    except ClientDisconnect:
        raise InvalidRequest("The client disconnected before the upload finished.") from None
    finally:
        parser.abort()
