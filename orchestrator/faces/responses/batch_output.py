"""Output lines of /v1/responses batches: the final Response object of each line."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from orchestrator.batches.lines import Answer
from orchestrator.engine.status import RunStatus
from orchestrator.faces.responses import mappers
from orchestrator.faces.responses import services as svc
from orchestrator.models import RunRecord


def answer(run: RunRecord, output: list[dict[str, Any]]) -> Answer:
    """A fed line's response (status_code 200, the Response) and, unless it completed, why."""
    body = mappers.response(run, output)
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
    """The answers of a page of fed lines' responses, in order: each body as
    GET /v1/responses/{id} shows it."""
    return [answer(run, svc.output_items(session, run)) for run in runs]
