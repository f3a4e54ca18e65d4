"""Files in and out of a sandbox as tar streams; only regular files ever leave it."""

from __future__ import annotations

import io
import logging
import os
import posixpath
import tarfile
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO

from docker.errors import APIError
from docker.models.containers import Container

from sandbox.protocol import BlobSource, InputFile, OutputFile

log = logging.getLogger(__name__)

DATA_DIR = "/mnt/data"


def safe_name(name: str) -> str:
    """A file name usable directly under /mnt/data (no folders, no dot-dot)."""
    base = posixpath.basename(name.replace("\\", "/")).strip() or "file"
    return "_" + base if base.startswith(".") else base


def pack(files: Iterable[InputFile], blobs: BlobSource, out: IO[bytes],
         uid: int = 1000) -> None:
    """Write a tar archive of the input files to `out` (each blob streamed in, never whole
    in memory), owned by the sandbox user. A file given under several names is stored once
    and linked under the others (no extra room in /mnt/data)."""
    first: dict[str, str] = {}
    with tarfile.open(fileobj=out, mode="w") as tar:
        for f in files:
            info = tarfile.TarInfo(safe_name(f.name))
            info.mode, info.uid, info.gid = 0o644, uid, uid
            if f.key in first:
                info.type, info.linkname = tarfile.LNKTYPE, first[f.key]
                tar.addfile(info)
                continue
            first[f.key] = info.name
            info.size = f.size
            body = io.BufferedReader(_Chunks(blobs(f.key)))
            tar.addfile(info, body)  # OSError when the blob is shorter than its size
            if body.read(1):
                raise OSError(f"the blob of {f.name!r} is longer than its {f.size} bytes")


def utf8_name(name: str) -> tuple[str, str | None]:
    """A file name that is valid UTF-8 (ours to store and show), plus a note when the code's
    name was not: its undecodable bytes become U+FFFD."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raw = os.fsencode(name)
        fixed = raw.decode("utf-8", "replace")
        return fixed, (f"[note: the file name {raw!r} in {DATA_DIR} is not valid UTF-8; "
                       f"the file is exported as {fixed!r}]")
    return name, None


def utf8_text(text: str) -> str:
    """Text without lone surrogates (what a name or output that was not UTF-8 leaves)."""
    return text.encode("utf-8", "replace").decode("utf-8")


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

    Symlinks, devices and folders are skipped: a link planted by the code never makes the
    worker read a file of the host; a hard link counts only as a second name of a regular
    file read earlier from the same archive. Stops reading past `limit` bytes in total.
    """
    out: list[OutputFile] = []
    read: dict[str, bytes] = {}
    total = 0
    stream = io.BufferedReader(_Chunks(chunks))
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            rel = member.name.split("/", 1)[1] if "/" in member.name else ""
            if rel not in wanted or not (member.isreg() or member.islnk()):
                continue
            data = read.get(member.linkname) if member.islnk() else None
            if member.islnk() and data is None:
                continue
            total += len(data) if data is not None else member.size
            if total > limit:
                break
            if data is None:
                handle = tar.extractfile(member)
                if handle is None:
                    continue
                data = read[member.name] = handle.read()
            out.append(OutputFile(rel, data))
    return out


def copy_in(container: Container, inputs: dict[str, tuple[str, int]],
            files: Iterable[InputFile], blobs: BlobSource) -> None:
    """Put the input files that are new or changed since last time (`inputs`: what the
    container got, by name: key and size) in /mnt/data, each with every other name of the
    same file; their bytes come from `blobs`."""
    files = list(files)
    stale = {f.key for f in files if inputs.get(safe_name(f.name)) != (f.key, f.size)}
    fresh = [f for f in files if f.key in stale]
    if not fresh:
        return
    with tempfile.TemporaryFile() as archive:
        pack(fresh, blobs, archive)
        archive.seek(0)
        container.put_archive(DATA_DIR, archive)
    for f in fresh:
        inputs[safe_name(f.name)] = (f.key, f.size)


def copy_out(container: Container, names: set[str],
             limit: int) -> tuple[list[OutputFile], list[str]]:
    """The named files from /mnt/data with UTF-8 names, and a note for each renamed one."""
    try:
        stream, _ = container.get_archive(DATA_DIR)
        files = unpack_regular(iter(stream), names, limit)
    except APIError:
        log.exception("could not export files from %s", container.name)
        return [], []
    out, notes = [], []
    for f in files:
        name, note = utf8_name(f.name)
        out.append(OutputFile(name, f.data))
        notes += [note] if note else []
    return out, notes
