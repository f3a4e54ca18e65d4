"""Recording a sandbox job's answer in one transaction: no blob outlives a failed one."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from orchestrator.db import after_commit, unit_of_work
from orchestrator.engine import code_interpreter
from orchestrator.storage import BlobStore, BlobWriter, get_store

log = logging.getLogger(__name__)


class TrackedStore:
    """The blob store, noting each key written (to remove them if the transaction fails)."""

    def __init__(self, store: BlobStore, written: list[str]) -> None:
        self.store, self.written = store, written

    def writer(self, key: str) -> BlobWriter:
        """Note the key, then write as the store does."""
        self.written.append(key)
        return self.store.writer(key)

    def reader(self, key: str, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
        """As the store."""
        return self.store.reader(key, chunk_size)

    def size(self, key: str) -> int:
        """As the store."""
        return self.store.size(key)

    def delete(self, key: str) -> bool:
        """As the store."""
        return self.store.delete(key)


def record(run_id: str, step_id: str, results: list[dict[str, Any]]) -> str:
    """code_interpreter.record_results in its own transaction; when that fails, the files it
    stored are removed and the error goes on to the caller (attempts.guarded counts it)."""
    written: list[str] = []
    try:
        with unit_of_work() as session:
            session.info[code_interpreter.STORE] = TrackedStore(get_store(), written)
            after_commit(session, written.clear)  # first: once committed, the rows exist
            return code_interpreter.record_results(session, run_id, step_id, results)
    except Exception:
        store = get_store()
        for key in written:
            try:
                store.delete(key)
            except OSError:
                log.exception("could not remove blob %s of a failed recording", key)
        raise
