"""A BlobStore in a local folder: temp file + fsync + rename, keys confined to the folder."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from orchestrator.storage.base import BlobNotFound, InvalidKey, check_key

TMP_DIR = ".tmp"


class LocalBlobWriter:
    """Writes to a temp file in the store; commit() renames it into place atomically."""

    def __init__(self, tmp_path: Path, final_path: Path) -> None:
        self._tmp = tmp_path
        self._final = final_path
        self._fh: BinaryIO | None = tmp_path.open("xb")
        self._size = 0
        self._done = False

    @property
    def bytes_written(self) -> int:
        """Bytes written so far."""
        return self._size

    def write(self, data: bytes) -> None:
        """Append data to the temp file."""
        if self._fh is None:
            raise ValueError("writer is closed")
        self._fh.write(data)
        self._size += len(data)

    def commit(self) -> int:
        """fsync, then rename over the final path; the blob appears whole or not at all."""
        if self._fh is None:
            raise ValueError("writer is closed")
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        self._fh = None
        self._final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._tmp, self._final)
        self._done = True
        return self._size

    def abort(self) -> None:
        """Close and delete the temp file."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if not self._done:
            self._tmp.unlink(missing_ok=True)
            self._done = True

    def __enter__(self) -> LocalBlobWriter:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.abort()


class LocalBlobStore:
    """Blobs as files under `root`; a key "a/b/c" is the file root/a/b/c."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        (self.root / TMP_DIR).mkdir(parents=True, exist_ok=True)

    def path_of(self, key: str) -> Path:
        """The file for a key; refuses keys that would leave the folder or hit the temp area."""
        parts = check_key(key)
        if parts[0] == TMP_DIR:
            raise InvalidKey(f"invalid storage key: {key!r}")
        path = self.root.joinpath(*parts)
        if not path.resolve().is_relative_to(self.root):
            raise InvalidKey(f"storage key leaves the store: {key!r}")
        return path

    def writer(self, key: str) -> LocalBlobWriter:
        """Start writing a blob under `key`."""
        final = self.path_of(key)
        tmp = self.root / TMP_DIR / f"{secrets.token_hex(16)}.part"
        return LocalBlobWriter(tmp, final)

    def reader(self, key: str, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
        """The blob's bytes in chunks; the file is opened now, so a missing blob fails early."""
        try:
            fh = self.path_of(key).open("rb")
        except FileNotFoundError:
            raise BlobNotFound(key) from None
        return _chunks(fh, chunk_size)

    def size(self, key: str) -> int:
        """The blob's size in bytes."""
        try:
            return self.path_of(key).stat().st_size
        except FileNotFoundError:
            raise BlobNotFound(key) from None

    def delete(self, key: str) -> bool:
        """Remove the blob; folders stay (a concurrent writer may be about to use them)."""
        try:
            self.path_of(key).unlink()
        except FileNotFoundError:
            return False
        return True


def _chunks(fh: BinaryIO, chunk_size: int) -> Iterator[bytes]:
    with fh:
        while chunk := fh.read(chunk_size):
            yield chunk
