"""Both blob stores (local folder, S3 bucket): atomic writes, streaming reads, deletes, keys
that cannot escape; the S3 store's multipart uploads."""

from __future__ import annotations

import hashlib
import os
import secrets
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlmodel import Session, SQLModel

from orchestrator.config import Settings
from orchestrator.db import make_engine
from orchestrator.models import FileRecord
from orchestrator.storage import BlobNotFound, BlobStore, InvalidKey, StorageUnavailable
from orchestrator.storage.factory import store_from
from orchestrator.storage.files import save_file
from orchestrator.storage.local import LocalBlobStore
from orchestrator.storage.s3 import MIN_PART_SIZE, S3BlobStore
from tests.support.s3_server import S3Server
from tests.support.servers import BIN


@dataclass
class Subject:
    """A store under test and what it holds besides published blobs (temp files, uploads)."""

    store: BlobStore
    blobs: Callable[[], list[str]]
    leftovers: Callable[[], list[str]]


def _local(tmp_path: Path) -> Subject:
    store = LocalBlobStore(tmp_path / "blobs")
    return Subject(store, lambda: [str(p.relative_to(store.root)) for p in store.root.rglob("*")
                                   if p.is_file() and p.parent.name != ".tmp"],
                   lambda: [p.name for p in (store.root / ".tmp").iterdir()])


def _settings(s3: S3Server, prefix: str, **more: str) -> Settings:
    return Settings(**{**{k.removeprefix("ORCH_").lower(): v
                          for k, v in s3.settings(prefix).items()}, **more})


def _s3(s3: S3Server, part_size: int = 8 << 20) -> Subject:
    prefix = "unit-" + secrets.token_hex(4)
    store = S3BlobStore(s3.client, s3.bucket, prefix, part_size)
    return Subject(store, lambda: s3.keys(prefix + "/"),
                   lambda: s3.unfinished_uploads(prefix + "/"))


@pytest.fixture(params=["local", "s3"])
def subject(request: pytest.FixtureRequest, tmp_path: Path) -> Subject:
    """Each test on a fresh local folder and on a fresh prefix of the S3 server's bucket."""
    if request.param == "local":
        return _local(tmp_path)
    return _s3(request.getfixturevalue("s3"))


@pytest.fixture()
def store(subject: Subject) -> BlobStore:
    """The store of the subject."""
    return subject.store


def test_write_is_invisible_until_commit(subject: Subject) -> None:
    store = subject.store
    writer = store.writer("files/t1/file-a")
    writer.write(b"hello ")
    writer.write(b"world")
    with pytest.raises(BlobNotFound):
        store.reader("files/t1/file-a")
    assert writer.commit() == 11
    assert store.size("files/t1/file-a") == 11
    assert b"".join(store.reader("files/t1/file-a", chunk_size=4)) == b"hello world"
    assert subject.leftovers() == []


def test_abort_leaves_nothing(subject: Subject) -> None:
    store = subject.store
    writer = store.writer("files/t1/file-b")
    writer.write(b"partial")
    writer.abort()
    writer.abort()
    assert subject.blobs() == [] and subject.leftovers() == []
    with pytest.raises(BlobNotFound):
        store.size("files/t1/file-b")


def test_delete(store: BlobStore) -> None:
    writer = store.writer("k")
    writer.write(b"x")
    writer.commit()
    writer.abort()  # after commit: nothing to undo
    assert store.delete("k") is True
    assert store.delete("k") is False
    with pytest.raises(BlobNotFound):
        store.reader("k")
    with pytest.raises(BlobNotFound):
        store.size("k")


@pytest.mark.parametrize("key", ["", "/etc/passwd", "../outside", "a/../../outside", "a//b",
                                 "a/./b", ".tmp/x", "a\\..\\b", "a/b\x00", "..", "a/"])
def test_keys_cannot_escape(store: BlobStore, key: str) -> None:
    for call in (store.writer, store.reader, store.size, store.delete):
        with pytest.raises(InvalidKey):
            call(key)


def test_symlinked_folder_is_refused(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"s")
    os.symlink(outside, store.root / "link")
    with pytest.raises(InvalidKey):
        store.reader("link/secret")


def test_save_file_stores_bytes_and_row(store: BlobStore) -> None:
    engine = make_engine("sqlite://")
    SQLModel.metadata.create_all(engine, tables=[FileRecord.__table__])  # type: ignore[attr-defined]
    with Session(engine) as session:
        rec = save_file(session, "ten_x", "out/../plot.png", "assistants_output",
                        [b"\x89PNG", b"data"], store=store)
        session.commit()
        assert rec.id.startswith("file-") and rec.filename == "plot.png"
        assert rec.bytes == 8 and rec.purpose == "assistants_output"
        assert b"".join(store.reader(rec.storage_key)) == b"\x89PNGdata"


def _pattern(n: int, seed: int) -> Iterator[bytes]:
    """n bytes that differ in every part (a part swapped or repeated would show), in odd
    write sizes that straddle the part boundaries."""
    sent = 0
    while sent < n:
        piece = hashlib.sha256(f"{seed}:{sent}".encode()).digest() * 2731  # 87,392 bytes
        piece = piece[:min(len(piece), n - sent)]
        sent += len(piece)
        yield piece


def test_a_multipart_upload_round_trips_byte_for_byte(s3: S3Server) -> None:
    subject = _s3(s3, MIN_PART_SIZE)
    store = subject.store
    assert isinstance(store, S3BlobStore)
    size = 3 * MIN_PART_SIZE + 12_345  # three full parts and a short last one
    writer = store.writer("files/t1/big")
    for chunk in _pattern(size, 1):
        writer.write(chunk)
    # Each full part went up as it filled (never the whole blob held), and nothing is seen yet.
    [upload] = s3.client.list_multipart_uploads(Bucket=s3.bucket, Prefix=store.prefix)["Uploads"]
    parts = s3.client.list_parts(Bucket=s3.bucket, Key=upload["Key"],
                                 UploadId=upload["UploadId"])["Parts"]
    assert [p["Size"] for p in parts] == [MIN_PART_SIZE] * 3
    assert subject.blobs() == []
    assert writer.commit() == size
    assert store.size("files/t1/big") == size
    got = hashlib.sha256()
    for chunk in store.reader("files/t1/big", chunk_size=1 << 20):
        assert len(chunk) <= 1 << 20
        got.update(chunk)
    assert got.digest() == hashlib.sha256(b"".join(_pattern(size, 1))).digest()
    assert subject.leftovers() == []


def test_an_aborted_multipart_upload_leaves_nothing(s3: S3Server) -> None:
    subject = _s3(s3, MIN_PART_SIZE)
    writer = subject.store.writer("files/t1/gone")
    for chunk in _pattern(2 * MIN_PART_SIZE + 1, 2):
        writer.write(chunk)
    assert len(subject.leftovers()) == 1
    writer.abort()
    writer.abort()
    assert subject.blobs() == [] and subject.leftovers() == []
    with pytest.raises(BlobNotFound):
        subject.store.reader("files/t1/gone")


def test_an_unreachable_bucket_is_a_storage_error(s3: S3Server) -> None:
    # An OSError, as a failing disk's: callers that log and go on (orphan blobs) keep doing so.
    store = store_from(_settings(s3, "x", storage_url="s3://no-such-bucket-here/x"))
    with pytest.raises(StorageUnavailable):
        store.reader("files/t1/a")
    writer = store.writer("files/t1/a")
    writer.write(b"x")
    with pytest.raises(StorageUnavailable):
        writer.commit()


@pytest.mark.parametrize(("url", "says"), [
    ("file:///var/blobs", "scheme must be s3"), ("s3://", "not a bucket"),
    ("s3://Bad_Bucket/x", "not a bucket"), ("s3://key:secret@bucket/x", "only s3://bucket"),
    ("s3://bucket/a/../b", "prefix"), ("s3://bucket/x?region=eu", "only s3://bucket"),
    ("bucket/prefix", "scheme must be s3")])
def test_a_bad_storage_url_is_refused_at_startup(url: str, says: str) -> None:
    with pytest.raises(ValidationError, match=says) as info:
        Settings(storage_url=url)
    assert "secret" not in str(info.value).replace("ORCH_STORAGE_URL", "")


def test_a_command_with_a_bad_storage_url_stops_with_one_line(tmp_path: Path) -> None:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("ORCH_")},
           "ORCH_STORAGE_URL": "gs://bucket/x", "ORCH_DATA_DIR": str(tmp_path)}
    done = subprocess.run([str(BIN / "orchestrator"), "worker"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip() == ("orchestrator: invalid settings: storage_url: Value error, "
                                   "ORCH_STORAGE_URL 'gs://bucket/x': the scheme must be s3:// "
                                   "(or leave it empty for the local folder)")


def test_the_settings_pick_the_store_and_hide_the_secret(s3: S3Server, tmp_path: Path) -> None:
    s = _settings(s3, "pre/fix", storage_secret_access_key="s3cr3t-value")
    assert "s3cr3t-value" not in repr(s) and "s3cr3t-value" not in str(s.model_dump())
    store = store_from(s)
    assert isinstance(store, S3BlobStore) and (store.bucket, store.prefix) == (s3.bucket,
                                                                               "pre/fix/")
    writer = store.writer("files/t/f")
    writer.write(b"through the settings")
    writer.commit()
    assert s3.keys("pre/fix/") == ["pre/fix/files/t/f"]
    assert store.delete("files/t/f")
    local = store_from(Settings(data_dir=tmp_path))
    assert isinstance(local, LocalBlobStore) and local.root == (tmp_path / "blobs").resolve()
