"""The BlobStore protocol: stream bytes in under a key, stream them out, size, delete."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Protocol

_SEGMENT = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$")


class InvalidKey(ValueError):
    """A storage key that could name something outside the store."""


class BlobNotFound(LookupError):
    """No blob is stored under the key."""


class StorageUnavailable(OSError):
    """The store could not be reached or refused the request (an OSError, as a disk's is)."""


def check_key(key: str) -> list[str]:
    """The key's '/'-separated segments; refuses empty, dot-only or odd-character segments."""
    parts = key.split("/")
    if not key or len(key) > 512 or not all(_SEGMENT.match(p) for p in parts):
        raise InvalidKey(f"invalid storage key: {key!r}")
    return parts


class BlobWriter(Protocol):
    """An in-progress write: invisible under its key until commit()."""

    @property
    def bytes_written(self) -> int:
        """Bytes written so far."""
        ...

    def write(self, data: bytes) -> None:
        """Append data."""

    def commit(self) -> int:
        """Publish the blob under its key (replacing any old one); returns its size."""
        ...

    def abort(self) -> None:
        """Discard everything written; safe to call more than once or after commit()."""


class BlobStore(Protocol):
    """Where file contents live."""

    def writer(self, key: str) -> BlobWriter:
        """Start writing a blob under `key`."""
        ...

    def reader(self, key: str, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
        """The blob's bytes in chunks; raises BlobNotFound right away when there is none."""
        ...

    def size(self, key: str) -> int:
        """The blob's size in bytes; raises BlobNotFound."""
        ...

    def delete(self, key: str) -> bool:
        """Remove the blob; False when there was none."""
        ...
