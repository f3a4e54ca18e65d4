"""Output lines of /v1/responses batches: the final Response object of each line."""

from __future__ import annotations

from sqlmodel import Session, col, select

from orchestrator.batches.lines import Answer
from orchestrator.engine.status import RunStatus
from orchestrator.faces.responses import mappers
from orchestrator.models import MessageRecord, RunRecord


def _outputs(session: Session, runs: list[RunRecord]) -> dict[str, list[MessageRecord]]:
    """Each response's output messages, in order, in one query (services.outputs for many):
    only those in the response's own thread (a continuation's copies carry the same run id)."""
    found: dict[str, list[MessageRecord]] = {run.id: [] for run in runs}
    if not runs:
        return found
    threads = {run.id: run.thread_id for run in runs}
    rows = session.exec(select(MessageRecord).where(
        col(MessageRecord.run_id).in_(list(threads)),
    ).order_by(col(MessageRecord.seq))).all()
    for msg in rows:
        if threads.get(str(msg.run_id)) == msg.thread_id:
            found[str(msg.run_id)].append(msg)
    return found


def answer(run: RunRecord, outputs: list[MessageRecord]) -> Answer:
    """A fed line's response (status_code 200, the Response) and, unless it completed, why."""
    body = mappers.response(run, outputs)
    response = {"status_code": 200, "request_id": f"req_{run.id.removeprefix('resp_')}",
                "body": body}
    if run.status == RunStatus.COMPLETED.value:
        return Answer(True, response, None)
    error = body.get("error") or {}
    return Answer(False, response, {
        "code": error.get("code") or f"response_{body['status']}",
        "message": error.get("message") or f"The response ended with status"
                                           f" '{body['status']}'."})


def render(session: Session, runs: list[RunRecord]) -> list[Answer]:
    """The answers of a page of fed lines' responses, in order."""
    found = _outputs(session, runs)
    return [answer(run, found[run.id]) for run in runs]
