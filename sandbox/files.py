"""Files in and out of a sandbox as tar streams; only regular files ever leave it."""

from __future__ import annotations

import io
import posixpath
import tarfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from sandbox.protocol import InputFile, OutputFile

DATA_DIR = "/mnt/data"


def safe_name(name: str) -> str:
    """A file name usable directly under /mnt/data (no folders, no dot-dot)."""
    base = posixpath.basename(name.replace("\\", "/")).strip() or "file"
    return "_" + base if base.startswith(".") else base


def pack(files: Iterable[InputFile], uid: int = 1000) -> bytes:
    """A tar archive of the input files, owned by the sandbox user."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for f in files:
            data = Path(f.path).read_bytes()
            info = tarfile.TarInfo(safe_name(f.name))
            info.size, info.mode, info.uid, info.gid = len(data), 0o644, uid, uid
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class _Chunks(io.RawIOBase):
    """A file-like view of an iterator of byte chunks (a streamed HTTP body)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._rest = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._rest:
            try:
                self._rest = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(buffer), len(self._rest))
        buffer[:n] = self._rest[:n]
        self._rest = self._rest[n:]
        return n


def unpack_regular(chunks: Iterator[bytes], wanted: set[str], limit: int) -> list[OutputFile]:
    """Regular files named in `wanted` (relative to /mnt/data) from a streamed archive.

    Symlinks, hard links, devices and folders are skipped: a link planted by the code never
    makes the worker read a file of the host. Stops reading past `limit` bytes in total.
    """
    out: list[OutputFile] = []
    total = 0
    stream = io.BufferedReader(_Chunks(chunks))
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            rel = member.name.split("/", 1)[1] if "/" in member.name else ""
            if not member.isreg() or rel not in wanted:
                continue
            total += member.size
            if total > limit:
                break
            handle = tar.extractfile(member)
            if handle is not None:
                out.append(OutputFile(rel, handle.read()))
    return out
