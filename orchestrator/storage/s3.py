"""An S3-compatible BlobStore: multipart uploads published at commit, streamed reads."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from orchestrator.storage.base import BlobNotFound, StorageUnavailable, check_key

log = logging.getLogger(__name__)
MIN_PART_SIZE = 5 * 1024 * 1024  # S3's smallest part (but the last)
_MISSING = {"404", "NoSuchKey", "NotFound"}


def _missing(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code", "")) in _MISSING


def _unavailable(what: str, key: str, exc: Exception) -> StorageUnavailable:
    return StorageUnavailable(f"object storage could not {what} {key!r}: {exc}")


@contextlib.contextmanager
def _object_call(what: str, key: str, name: str) -> Iterator[None]:
    """S3's errors as the protocol's: no such object is BlobNotFound(key), the rest
    StorageUnavailable naming the object."""
    try:
        yield
    except ClientError as exc:
        if _missing(exc):
            raise BlobNotFound(key) from None
        raise _unavailable(what, name, exc) from exc
    except BotoCoreError as exc:
        raise _unavailable(what, name, exc) from exc


class S3BlobWriter:
    """Buffers one part at a time; the first full part starts a multipart upload, commit()
    completes it (or puts a blob smaller than a part in one request)."""

    def __init__(self, client: Any, bucket: str, key: str, part_size: int) -> None:
        self._client, self._bucket, self._key = client, bucket, key
        self._part_size = part_size
        self._buf = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._size = 0
        self._open = True

    @property
    def bytes_written(self) -> int:
        """Bytes written so far."""
        return self._size

    def write(self, data: bytes) -> None:
        """Append data; each full part is uploaded now."""
        if not self._open:
            raise ValueError("writer is closed")
        self._buf += data
        self._size += len(data)
        while len(self._buf) >= self._part_size:
            self._send_part(bytes(self._buf[:self._part_size]))
            del self._buf[:self._part_size]

    def _send_part(self, body: bytes) -> None:
        try:
            if self._upload_id is None:
                self._upload_id = self._client.create_multipart_upload(
                    Bucket=self._bucket, Key=self._key)["UploadId"]
            number = len(self._parts) + 1
            etag = self._client.upload_part(
                Bucket=self._bucket, Key=self._key, UploadId=self._upload_id,
                PartNumber=number, Body=body)["ETag"]
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable("store a part of", self._key, exc) from exc
        self._parts.append({"PartNumber": number, "ETag": etag})

    def commit(self) -> int:
        """Publish the blob under its key; it appears whole or not at all."""
        if not self._open:
            raise ValueError("writer is closed")
        try:
            if self._upload_id is None:
                self._client.put_object(Bucket=self._bucket, Key=self._key,
                                        Body=bytes(self._buf))
            else:
                if self._buf:
                    self._send_part(bytes(self._buf))
                self._client.complete_multipart_upload(
                    Bucket=self._bucket, Key=self._key, UploadId=self._upload_id,
                    MultipartUpload={"Parts": self._parts})
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable("store", self._key, exc) from exc
        self._upload_id = None
        self._open = False
        self._buf = bytearray()
        return self._size

    def abort(self) -> None:
        """Drop the buffer and abort the multipart upload, if one was started. Never raises
        (it runs in `finally` blocks): an upload the store would not abort is logged, and
        stays invisible until the bucket's lifecycle rule removes it."""
        self._open = False
        self._buf = bytearray()
        upload_id, self._upload_id = self._upload_id, None
        if upload_id is not None:
            try:
                self._client.abort_multipart_upload(Bucket=self._bucket, Key=self._key,
                                                    UploadId=upload_id)
            except (BotoCoreError, ClientError) as exc:
                log.warning("could not abort the upload of %s (%s): it stays unfinished",
                            self._key, exc)

    def __enter__(self) -> S3BlobWriter:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.abort()


class S3BlobStore:
    """Blobs as objects of one bucket; a key "a/b" is the object "<prefix>/a/b"."""

    def __init__(self, client: Any, bucket: str, prefix: str = "",
                 part_size: int = 8 * 1024 * 1024) -> None:
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part size must be at least {MIN_PART_SIZE} bytes")
        self.client, self.bucket, self.part_size = client, bucket, part_size
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""

    def object_key(self, key: str) -> str:
        """The object's name in the bucket; refuses the keys every store refuses."""
        check_key(key)
        return self.prefix + key

    def writer(self, key: str) -> S3BlobWriter:
        """Start writing a blob under `key`."""
        return S3BlobWriter(self.client, self.bucket, self.object_key(key), self.part_size)

    def reader(self, key: str, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
        """The blob's bytes in chunks; the object is requested now, so a missing blob fails
        early, and its body is read as the chunks are asked for."""
        name = self.object_key(key)
        with _object_call("read", key, name):
            body = self.client.get_object(Bucket=self.bucket, Key=name)["Body"]
        return _chunks(body, name, chunk_size)

    def size(self, key: str) -> int:
        """The blob's size in bytes."""
        name = self.object_key(key)
        with _object_call("look up", key, name):
            return int(self.client.head_object(Bucket=self.bucket, Key=name)["ContentLength"])

    def delete(self, key: str) -> bool:
        """Remove the blob; False when there was none (S3's delete says nothing of that)."""
        try:
            self.size(key)
        except BlobNotFound:
            return False
        name = self.object_key(key)
        try:
            self.client.delete_object(Bucket=self.bucket, Key=name)
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable("delete", name, exc) from exc
        return True


def _chunks(body: Any, name: str, chunk_size: int) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(chunk_size)
    except (BotoCoreError, ClientError) as exc:
        raise _unavailable("read", name, exc) from exc
    finally:
        body.close()
