"""Download responses every face shares: the Content-Disposition of a file's bytes."""

from __future__ import annotations

from urllib.parse import quote


def content_disposition(filename: str) -> str:
    """`attachment; filename=…`, RFC 5987-encoded when the name is not plain ASCII."""
    if filename.isascii() and filename.isprintable():
        escaped = filename.replace("\\", "\\\\").replace('"', '\\"')
        return f'attachment; filename="{escaped}"'
    return f"attachment; filename*=utf-8''{quote(filename, safe='')}"
