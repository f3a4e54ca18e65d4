"""Output lines of /v1/threads/runs batches: the final run object, with its answers."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from orchestrator.batches.lines import Answer
from orchestrator.engine.status import RunStatus
from orchestrator.faces.assistants.mappers import run as run_wire
from orchestrator.faces.assistants.mappers.message import message as message_wire
from orchestrator.models import BatchRecord, BatchRequestRecord, MessageRecord, RunRecord

# The assistant's answers ride along with the final run object under this key.
MESSAGES_KEY = "messages"


def _answers(session: Session, run_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {r: [] for r in run_ids}
    if not run_ids:
        return found
    rows = session.exec(select(MessageRecord).where(
        col(MessageRecord.run_id).in_(run_ids), MessageRecord.role == "assistant",
    ).order_by(col(MessageRecord.seq))).all()
    for msg in rows:
        found[str(msg.run_id)].append(message_wire(msg, "v2").model_dump(mode="json"))
    return found


def answer(run: RunRecord, messages: list[dict[str, Any]]) -> Answer:
    """A fed line's response (the run with its answers) and, unless it completed, its error."""
    body = {**run_wire.run(run).model_dump(mode="json"), MESSAGES_KEY: messages}
    response = {"status_code": 200, "request_id": f"req_{run.id.removeprefix('run_')}",
                "body": body}
    if run.status == RunStatus.COMPLETED.value:
        return Answer(True, response, None)
    last = run.last_error or {}
    return Answer(False, response, {
        "code": last.get("code") or f"run_{run.status}",
        "message": last.get("message") or f"The run ended with status '{run.status}'."})


def render(session: Session, batch: BatchRecord,
           done: list[tuple[BatchRequestRecord, RunRecord]]) -> list[Answer]:
    """The answers of a page of fed lines, in order (one query for all their messages)."""
    found = _answers(session, [run.id for _, run in done])
    return [answer(run, found[run.id]) for _, run in done]
