"""The feeder (`batches.feed` on beat): admission control, cancel, finalize; crash-safe.

Each tick turns the next lines of every live batch into runs, in one transaction per batch
whose last write is a compare-and-set of the batch's cursor (`fed`): a second feeder, or a
feeder killed mid-chunk, leaves no run behind that the cursor does not account for. The
tenant's queued + in_progress runs stay below ORCH_BATCH_MAX_IN_FLIGHT, so a huge batch never
floods the broker and an interactive run waits behind at most that many batch runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import update
from sqlmodel import Session, col, select

from orchestrator.batches import counts as q
from orchestrator.batches.cas import cas, move
from orchestrator.batches.lines import LineHandler, handler
from orchestrator.batches.output import write_files
from orchestrator.batches.status import LIVE, BatchStatus
from orchestrator.config import get_settings
from orchestrator.db import deferred_inserts, unit_of_work
from orchestrator.engine.schedule import advance_in
from orchestrator.engine.status import RunStatus
from orchestrator.errors import APIError
from orchestrator.models import BatchRecord, BatchRequestRecord
from orchestrator.models.base import now

CANCEL_CHUNK = 500
REFUSALS_SECONDS = 1.0  # a tick feeds a batch again after refused lines for at most this long
BATCH_QUEUE = "batch"


@dataclass
class FeedReport:
    """What one tick did."""

    fed: int = 0
    refused: int = 0
    cancelled: int = 0
    finished: int = 0
    live: int = 0  # batches still live after the tick


class LineRefused(Exception):
    """The run service refused a line at feed time (e.g. its thread has an active run)."""

    def __init__(self, seq: int, error: APIError) -> None:
        super().__init__(error.message)
        self.seq = seq
        self.error = error


class LostRace(Exception):
    """Another feeder moved the batch first: roll this chunk back."""


def _start(session: Session, lines: LineHandler, req: BatchRequestRecord, tenant: str) -> str:
    """Create the run of one line through its endpoint's handler; its id."""
    try:
        return lines.start(session, tenant, req)
    except APIError as exc:
        raise LineRefused(int(req.seq or 0), exc) from None


def _feed(session: Session, batch: BatchRecord, report: FeedReport) -> None:
    s = get_settings()
    room = s.batch_max_in_flight - q.tenant_in_flight(session, batch.tenant)
    if room <= 0:
        return
    todo = list(session.exec(select(BatchRequestRecord).where(
        BatchRequestRecord.batch_id == batch.id, col(BatchRequestRecord.line) > batch.fed,
    ).order_by(col(BatchRequestRecord.line)).limit(min(room, s.batch_feed_chunk))).all())
    if not todo:
        return
    # First steps of batch runs wait in their own queue: workers take from `runs` and `batch`
    # in turn, so an interactive run never queues behind the batch's backlog.
    advance_in(session, BATCH_QUEUE)
    lines = handler(batch.endpoint)
    # The chunk's threads, messages and runs go in one INSERT per table, not three per line.
    with deferred_inserts(session):
        for req in todo:
            if req.run_id is None and req.error is None:
                req.run_id = _start(session, lines, req, batch.tenant)
                session.add(req)
                report.fed += 1
    session.flush()
    if not cas(session, batch, fed=todo[-1].line):
        raise LostRace(batch.id)


def _unfed(session: Session, batch: BatchRecord) -> bool:
    """Whether some line of the batch is past the feeder's cursor."""
    return session.exec(select(BatchRequestRecord.seq).where(
        BatchRequestRecord.batch_id == batch.id,
        col(BatchRequestRecord.line) > batch.fed).limit(1)).first() is not None


def _refuse(seq: int, error: APIError) -> None:
    with unit_of_work() as session:
        session.exec(update(BatchRequestRecord).where(
            col(BatchRequestRecord.seq) == seq, col(BatchRequestRecord.run_id).is_(None),
        ).values(error={"status_code": error.status_code, **error.body()}))


def _cancel_runs(session: Session, batch: BatchRecord, report: FeedReport) -> int:
    """Ask the batch's unfinished runs to stop; how many are still active."""
    active = q.active_runs(session, batch.id, CANCEL_CHUNK)
    lines = handler(batch.endpoint)
    for run in active:
        if run.status != RunStatus.CANCELLING.value:
            try:
                lines.cancel(session, run)
                report.cancelled += 1
            except APIError:  # it ended meanwhile
                pass
    return len(active)


def finalize(batch_id: str, target: BatchStatus) -> bool:
    """Write the output and error files, freeze the counts and end the batch."""
    with unit_of_work() as session:
        batch = session.exec(select(BatchRecord).where(BatchRecord.id == batch_id)).one()
        if batch.status == BatchStatus.IN_PROGRESS.value and not move(
                session, batch, BatchStatus.FINALIZING, finalizing_at=now()):
            return False
    with unit_of_work() as session:
        batch = session.exec(select(BatchRecord).where(BatchRecord.id == batch_id)).one()
        if BatchStatus(batch.status) not in (BatchStatus.FINALIZING, BatchStatus.CANCELLING):
            return False
        completed, failed = q.counts(session, batch)
        output, error = write_files(session, batch, completed, failed)
        at = {BatchStatus.COMPLETED: "completed_at", BatchStatus.CANCELLED: "cancelled_at",
              BatchStatus.EXPIRED: "expired_at"}[target]
        stamp = batch.expired_at if target is BatchStatus.EXPIRED and batch.expired_at else now()
        if not move(session, batch, target, completed=completed, failed=failed,
                    output_file_id=output, error_file_id=error, **{at: stamp}):
            raise LostRace(batch_id)  # roll back the file rows; someone else finishes it
    return True


def _tick_batch(batch_id: str, report: FeedReport) -> None:
    finish: BatchStatus | None = None
    with unit_of_work() as session:
        batch = session.exec(select(BatchRecord).where(BatchRecord.id == batch_id)).one()
        status = BatchStatus(batch.status)
        if status is BatchStatus.VALIDATING:
            if not move(session, batch, BatchStatus.IN_PROGRESS, in_progress_at=now()):
                return
            status = BatchStatus.IN_PROGRESS
        if status is BatchStatus.IN_PROGRESS and batch.expires_at and now() >= batch.expires_at:
            # Expiry is a cancel that ends in `expired` (expired_at marks it).
            if not move(session, batch, BatchStatus.CANCELLING, cancelling_at=now(),
                        expired_at=now()):
                return
            status = BatchStatus.CANCELLING
        if status is BatchStatus.IN_PROGRESS:
            _feed(session, batch, report)
            if not _unfed(session, batch) and not q.active_runs(session, batch.id, 1):
                finish = BatchStatus.COMPLETED
        elif status is BatchStatus.CANCELLING:
            if not _cancel_runs(session, batch, report):
                finish = BatchStatus.EXPIRED if batch.expired_at else BatchStatus.CANCELLED
        elif status is BatchStatus.FINALIZING:  # a feeder died while writing the files
            finish = BatchStatus.COMPLETED
    if finish is not None and finalize(batch_id, finish):
        report.finished += 1


def tick() -> FeedReport:
    """One pass over every live batch, oldest first."""
    report = FeedReport()
    with unit_of_work() as session:
        ids = list(session.exec(select(BatchRecord.id).where(
            col(BatchRecord.status).in_([s.value for s in LIVE])).order_by(
            col(BatchRecord.seq))).all())
    for batch_id in ids:
        _tick_with_refusals(batch_id, report)
    report.live = len(ids) - report.finished
    return report


def _tick_with_refusals(batch_id: str, report: FeedReport) -> None:
    """Tick one batch; a refused line is marked and the chunk fed again at once without it
    (for a while: many refused lines spread over the next ticks)."""
    deadline = time.monotonic() + REFUSALS_SECONDS
    while True:
        try:
            _tick_batch(batch_id, report)
        except LineRefused as refused:
            _refuse(refused.seq, refused.error)
            report.refused += 1
            if time.monotonic() < deadline:
                continue
        except LostRace:
            pass
        return
