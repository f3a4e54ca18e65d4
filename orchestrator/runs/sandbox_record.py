"""Recording a sandbox job's answer in one transaction: no blob outlives a failed one, and a
failure counts as an attempt of the step (a result that can never be recorded fails the run)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from orchestrator.config import get_settings
from orchestrator.db import after_commit, unit_of_work
from orchestrator.runs import code_interpreter
from orchestrator.runs.cas import cas
from orchestrator.runs.status import RunStatus
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


def record(run_id: str, step_id: str, results: list[dict[str, Any]],
           route: str | None = None) -> str:
    """runs.sandbox_done: code_interpreter.record_results in its own transaction; when that
    fails, the files it stored are removed and the failure is counted (record_failed)."""
    written: list[str] = []
    try:
        with unit_of_work() as session:
            session.info[code_interpreter.STORE] = TrackedStore(get_store(), written)
            after_commit(session, written.clear)  # first: once committed, the rows exist
            return code_interpreter.record_results(session, run_id, step_id, results, route)
    except Exception as exc:
        store = get_store()
        for key in written:
            try:
                store.delete(key)
            except OSError:
                log.exception("could not remove blob %s of a failed recording", key)
        try:
            outcome = record_failed(run_id, step_id, exc)
        except Exception:
            log.exception("could not count the failed recording of run %s", run_id)
        else:
            log.warning("recording the sandbox results of run %s failed (%s): %s",
                        run_id, outcome, exc)
        raise


def record_failed(run_id: str, step_id: str, exc: BaseException) -> str:
    """A result that could not be recorded is a failed attempt of its step: the run waits for
    the job to be re-sent (claim -> code_interpreter.resume_pending, after the lease), or fails
    with server_error once sandbox_max_resends attempts are spent."""
    from orchestrator.runs.execution import fail, load

    owner = code_interpreter.owner_of(step_id)
    with unit_of_work() as session:
        run = load(session, run_id)
        if run is None or run.status != RunStatus.IN_PROGRESS.value or run.lease_owner != owner:
            return "stale"
        attempts = run.attempts + 1
        if attempts > get_settings().sandbox_max_resends:
            fail(session, run, "server_error", "The code interpreter's output could not be "
                 f"recorded ({type(exc).__name__}) after {attempts} attempts.", owner)
            return "run failed"
        cas(session, run, {"attempts": attempts}, owner)
        return f"attempt {attempts} counted"
