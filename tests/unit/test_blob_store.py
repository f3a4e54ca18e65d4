"""The local blob store: atomic writes, streaming reads, deletes, and keys that cannot escape."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlmodel import Session, SQLModel

from orchestrator.db import make_engine
from orchestrator.models import FileRecord
from orchestrator.storage import BlobNotFound, InvalidKey
from orchestrator.storage.files import save_file
from orchestrator.storage.local import LocalBlobStore


@pytest.fixture()
def store(tmp_path: Path) -> LocalBlobStore:
    """A store in a fresh folder."""
    return LocalBlobStore(tmp_path / "blobs")


def test_write_is_invisible_until_commit(store: LocalBlobStore) -> None:
    writer = store.writer("files/t1/file-a")
    writer.write(b"hello ")
    writer.write(b"world")
    with pytest.raises(BlobNotFound):
        store.reader("files/t1/file-a")
    assert writer.commit() == 11
    assert store.size("files/t1/file-a") == 11
    assert b"".join(store.reader("files/t1/file-a", chunk_size=4)) == b"hello world"
    assert list((store.root / ".tmp").iterdir()) == []


def test_abort_leaves_nothing(store: LocalBlobStore) -> None:
    writer = store.writer("files/t1/file-b")
    writer.write(b"partial")
    writer.abort()
    writer.abort()
    assert [p for p in store.root.rglob("*") if p.is_file()] == []
    with pytest.raises(BlobNotFound):
        store.size("files/t1/file-b")


def test_delete(store: LocalBlobStore) -> None:
    with store.writer("k") as writer:
        writer.write(b"x")
        writer.commit()
    assert store.delete("k") is True
    assert store.delete("k") is False
    with pytest.raises(BlobNotFound):
        store.reader("k")


@pytest.mark.parametrize("key", ["", "/etc/passwd", "../outside", "a/../../outside", "a//b",
                                 "a/./b", ".tmp/x", "a\\..\\b", "a/b\x00", "..", "a/"])
def test_keys_cannot_escape(store: LocalBlobStore, key: str) -> None:
    for call in (store.writer, store.reader, store.size, store.delete):
        with pytest.raises(InvalidKey):
            call(key)


def test_symlinked_folder_is_refused(store: LocalBlobStore, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"s")
    os.symlink(outside, store.root / "link")
    with pytest.raises(InvalidKey):
        store.reader("link/secret")


def test_save_file_stores_bytes_and_row(store: LocalBlobStore) -> None:
    engine = make_engine("sqlite://")
    SQLModel.metadata.create_all(engine, tables=[FileRecord.__table__])  # type: ignore[attr-defined]
    with Session(engine) as session:
        rec = save_file(session, "ten_x", "out/../plot.png", "assistants_output",
                        [b"\x89PNG", b"data"], store=store)
        session.commit()
        assert rec.id.startswith("file-") and rec.filename == "plot.png"
        assert rec.bytes == 8 and rec.purpose == "assistants_output"
        assert b"".join(store.reader(rec.storage_key)) == b"\x89PNGdata"
