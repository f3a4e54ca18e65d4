"""What each inspector page shows, read through the services' tenant-scoped lookups."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from orchestrator.engine.status import ACTIVE, TERMINAL, RunStatus
from orchestrator.errors import InvalidRequest
from orchestrator.faces.assistants.services import messages, runs
from orchestrator.models import MessageRecord, RunRecord, RunStepRecord, ThreadRecord

RUN_LIMIT = 50
THREAD_LIMIT = 20
MESSAGE_LIMIT = 200
STEP_LIMIT = 500
FILTERS = ["", "active", *[s.value for s in RunStatus]]


@dataclass
class Listing:
    """The front page: recent runs and responses, and threads and conversations, filtered."""

    runs: list[RunRecord]
    threads: list[ThreadRecord]
    status: str
    q: str
    more_runs: bool
    older: bool = False


@dataclass
class StepView:
    """One timeline entry: the step, its duration and the messages it wrote."""

    step: RunStepRecord
    ended_at: int | None
    messages: list[MessageRecord] = field(default_factory=list)

    @property
    def duration(self) -> int | None:
        """Whole seconds from creation to its end (None while it runs)."""
        return None if self.ended_at is None else self.ended_at - self.step.created_at


@dataclass
class RunView:
    """A run with its timeline."""

    run: RunRecord
    steps: list[StepView]

    @property
    def active(self) -> bool:
        """Whether the run can still change."""
        return RunStatus(self.run.status) in ACTIVE

    @property
    def ended_at(self) -> int | None:
        """When the run reached its terminal status, as far as it is recorded."""
        r = self.run
        return r.completed_at or r.failed_at or r.cancelled_at or (
            self.steps[-1].ended_at if self.steps and not self.active else None)


def _status_filter(status: str) -> list[Any]:
    if status not in FILTERS:
        raise InvalidRequest(f"Unknown status filter '{status}'.", param="status")
    if status == "active":
        return [col(RunRecord.status).in_([s.value for s in ACTIVE])]
    return [RunRecord.status == status] if status else []


def _prefix(q: str) -> str:
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def listing(session: Session, tenant: str, status: str = "", q: str = "",
            before: int | None = None) -> Listing:
    """Recent runs and threads of the tenant, filtered by run status and searched by id.

    Runs include responses; threads leave out a response's private thread (its response
    stands for it).

    An id matches as a prefix of a run, response, thread or conversation id, or exactly as an
    assistant, step (its run) or message (its thread; for a response's private thread, which
    is not listed, its response) id; tenancy still applies to what is found.
    """
    q = q.strip()[:128]
    run_scope: list[Any] = [RunRecord.tenant == tenant, *_status_filter(status)]
    thread_scope: list[Any] = [ThreadRecord.tenant == tenant, col(ThreadRecord.private).is_(False)]
    if q:
        like = _prefix(q)
        step_run = select(RunStepRecord.run_id).where(RunStepRecord.id == q)
        message = select(MessageRecord.thread_id).where(MessageRecord.id == q)
        private = select(ThreadRecord.id).where(col(ThreadRecord.private).is_(True),
                                                col(ThreadRecord.id).in_(message))
        run_scope.append(or_(col(RunRecord.id).like(like, escape="\\"),
                             col(RunRecord.thread_id).like(like, escape="\\"),
                             col(RunRecord.assistant_id) == q, col(RunRecord.id).in_(step_run),
                             col(RunRecord.thread_id).in_(private)))
        thread_scope.append(or_(col(ThreadRecord.id).like(like, escape="\\"),
                                col(ThreadRecord.id).in_(message)))
    if before is not None:
        run_scope.append(col(RunRecord.seq) < before)
    found = list(session.exec(select(RunRecord).where(*run_scope)
                              .order_by(col(RunRecord.seq).desc()).limit(RUN_LIMIT + 1)).all())
    threads: list[ThreadRecord] = []
    if not status and before is None:
        threads = list(session.exec(select(ThreadRecord).where(*thread_scope)
                                    .order_by(col(ThreadRecord.seq).desc())
                                    .limit(THREAD_LIMIT)).all())
    return Listing(found[:RUN_LIMIT], threads, status, q, len(found) > RUN_LIMIT,
                   before is not None)


def conversation(session: Session, tenant: str,
                 thread_id: str) -> tuple[ThreadRecord, list[MessageRecord], list[RunRecord]]:
    """A thread, its newest messages oldest first, and its runs newest first."""
    thread = runs.get_thread(session, tenant, thread_id)
    scope = messages.list_scope(session, tenant, thread_id, None)
    rows = list(session.exec(select(MessageRecord).where(*scope)
                             .order_by(col(MessageRecord.seq).desc())
                             .limit(MESSAGE_LIMIT)).all())
    rows.reverse()
    thread_runs = list(session.exec(select(RunRecord).where(
        RunRecord.thread_id == thread_id, RunRecord.tenant == tenant)
        .order_by(col(RunRecord.seq).desc()).limit(RUN_LIMIT)).all())
    return thread, rows, thread_runs


def _ended(step: RunStepRecord) -> int | None:
    return step.completed_at or step.failed_at or step.cancelled_at or step.expired_at


def run_view(session: Session, tenant: str, thread_id: str, run_id: str) -> RunView:
    """The run (404 unless it is the tenant's, in that thread) and its steps in order."""
    run = runs.get(session, tenant, thread_id, run_id)
    steps = list(session.exec(select(RunStepRecord).where(RunStepRecord.run_id == run.id)
                              .order_by(col(RunStepRecord.ordinal), col(RunStepRecord.seq))
                              .limit(STEP_LIMIT)).all())
    wanted = [s.step_details.get("message_creation", {}).get("message_id") for s in steps]
    ids = [m for m in wanted if m]
    by_id: dict[str, MessageRecord] = {}
    if ids:
        by_id = {m.id: m for m in session.exec(select(MessageRecord).where(
            col(MessageRecord.id).in_(ids), MessageRecord.tenant == tenant)).all()}
    views = [StepView(s, _ended(s), [by_id[m]] if m in by_id else [])
             for s, m in zip(steps, wanted, strict=True)]
    return RunView(run, views)


def run_state(session: Session, tenant: str, run_id: str) -> tuple[int, bool] | None:
    """(version, terminal) of the tenant's run, or None if it is gone."""
    row = session.exec(select(RunRecord.version, RunRecord.status).where(
        RunRecord.id == run_id, RunRecord.tenant == tenant)).first()
    if row is None:
        return None
    return int(row[0]), RunStatus(row[1]) in TERMINAL
