"""What the response and conversation pages show, rendered by the Responses face's mappers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from orchestrator.engine.status import ACTIVE, RunStatus
from orchestrator.errors import not_found
from orchestrator.faces.responses import mappers
from orchestrator.faces.responses import services as svc
from orchestrator.faces.responses.items import item
from orchestrator.models import EventRecord, MessageRecord, RunRecord, ThreadRecord
from orchestrator.records import get_owned

FACE = svc.FACE
EVENT_LIMIT = 500
ITEM_LIMIT = 200
RUN_LIMIT = 50


def is_response(run: RunRecord) -> bool:
    """Whether the run is a response (shown by the Responses face, not as an Assistants run)."""
    return run.face == FACE


def href(run: RunRecord) -> str:
    """The inspector page of a run or a response."""
    if is_response(run):
        return f"/inspector/responses/{run.id}"
    return f"/inspector/threads/{run.thread_id}/runs/{run.id}"


@dataclass
class ResponseView:
    """A response as its face shows it, with its input items and its stored stream events."""

    run: RunRecord
    wire: dict[str, Any]
    inputs: list[dict[str, Any]]
    events: list[EventRecord]

    @property
    def active(self) -> bool:
        """Whether the response can still change."""
        return RunStatus(self.run.status) in ACTIVE

    @property
    def conversation(self) -> str | None:
        """The conversation the response belongs to, if any."""
        return (self.wire.get("conversation") or {}).get("id")


@dataclass
class Entry:
    """One conversation item and what wrote it: the response it was input to, or the run or
    response that answered it (None for an item added by the client alone)."""

    item: dict[str, Any]
    message: MessageRecord
    writer: RunRecord | None
    as_input: bool


@dataclass
class ConversationView:
    """A conversation's items in order and the responses and runs on it."""

    thread: ThreadRecord
    wire: dict[str, Any]
    entries: list[Entry]
    runs: list[RunRecord]
    truncated: bool


def get_response(session: Session, tenant: str, response_id: str) -> RunRecord:
    """The tenant's response, or 404 (an Assistants run is not a response).

    Unlike the API, a store=false response is shown for as long as it exists (until it has
    been answered), so an operator can follow it.
    """
    run = get_owned(session, RunRecord, tenant, response_id, "response")
    if not is_response(run):
        raise not_found("response", response_id)
    return run


def events(session: Session, run: RunRecord) -> list[EventRecord]:
    """The response's `response.*` events from the outbox, in the order they were written."""
    return list(session.exec(select(EventRecord).where(
        EventRecord.run_id == run.id, EventRecord.tenant == run.tenant,
        col(EventRecord.type).startswith("response."),
    ).order_by(col(EventRecord.seq)).limit(EVENT_LIMIT)).all())


def response_view(session: Session, tenant: str, response_id: str) -> ResponseView:
    """The response, its input and output items, and its events."""
    run = get_response(session, tenant, response_id)
    wire = mappers.response(run, svc.output_items(session, run))
    inputs = [item(m) for m in svc.inputs(session, run) if m.tenant == tenant]
    return ResponseView(run, wire, inputs, events(session, run))


def runs_by_id(session: Session, tenant: str, ids: Iterable[str | None]) -> dict[str, RunRecord]:
    """The tenant's runs and responses with these ids."""
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    return {r.id: r for r in session.exec(select(RunRecord).where(
        col(RunRecord.id).in_(wanted), RunRecord.tenant == tenant)).all()}


def conversation_view(session: Session, tenant: str, conversation_id: str) -> ConversationView:
    """A conversation (404 for a response's private thread), its newest items oldest first."""
    thread = svc.conversation(session, tenant, conversation_id)
    rows = list(session.exec(select(MessageRecord).where(
        MessageRecord.thread_id == thread.id, MessageRecord.tenant == tenant,
    ).order_by(col(MessageRecord.seq).desc()).limit(ITEM_LIMIT + 1)).all())
    truncated = len(rows) > ITEM_LIMIT
    rows = rows[:ITEM_LIMIT][::-1]
    thread_runs = list(session.exec(select(RunRecord).where(
        RunRecord.thread_id == thread.id, RunRecord.tenant == tenant,
    ).order_by(col(RunRecord.seq).desc()).limit(RUN_LIMIT)).all())
    writers = runs_by_id(session, tenant, [m.run_id for m in rows])
    took: dict[str, RunRecord] = {}
    for run in thread_runs:
        if is_response(run):
            for mid in (run.face_data or {}).get("input", []):
                took[mid] = run
    entries = [Entry(item(m), m, writers.get(m.run_id) if m.run_id else took.get(m.id),
                     m.run_id is None and m.id in took) for m in rows]
    return ConversationView(thread, mappers.conversation(thread), entries, thread_runs,
                            truncated)
