"""The output and error files of a finished batch: one JSONL line per request, in input order.

Refused lines are rendered here; a fed line's response comes from its endpoint's handler.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlmodel import Session, col, select

from orchestrator.batches.lines import Answer, handler
from orchestrator.models import BatchRecord, BatchRequestRecord, RunRecord
from orchestrator.storage.files import save_file

PAGE = 500


def _page(session: Session, batch_id: str, after: int) -> list[BatchRequestRecord]:
    return list(session.exec(select(BatchRequestRecord).where(
        BatchRequestRecord.batch_id == batch_id, col(BatchRequestRecord.line) > after,
    ).order_by(col(BatchRequestRecord.line)).limit(PAGE)).all())


def _refused(batch: BatchRecord, req: BatchRequestRecord) -> Answer:
    """A line the run service refused when it was fed: its error as the response."""
    error = (req.error or {}).get("error", {})
    return Answer(False, {"status_code": int((req.error or {}).get("status_code", 400)),
                          "request_id": f"req_{batch.id.removeprefix('batch_')}_{req.line}",
                          "body": {"error": error}},
                  {"code": error.get("code") or "invalid_request",
                   "message": error.get("message")})


def _item(batch: BatchRecord, req: BatchRequestRecord, answer: Answer) -> dict[str, Any]:
    return {"id": f"batch_req_{batch.id.removeprefix('batch_')}_{req.line}",
            "custom_id": req.custom_id, "response": answer.response, "error": answer.error}


def lines(session: Session, batch: BatchRecord, succeeded: bool) -> Iterator[bytes]:
    """The JSONL bytes of the output file (succeeded) or the error file, page by page."""
    render = handler(batch.endpoint).render
    after = 0
    while page := _page(session, batch.id, after):
        after = page[-1].line
        fed = [r for r in page if r.run_id or r.error]
        run_ids = [str(r.run_id) for r in fed if r.run_id]
        runs = {r.id: r for r in session.exec(select(RunRecord).where(
            col(RunRecord.id).in_(run_ids))).all()} if run_ids else {}
        done = [(req, runs[str(req.run_id)]) for req in fed
                if req.run_id and str(req.run_id) in runs]
        answers = {req.line: answer for (req, _), answer in zip(
            done, render(session, batch, done), strict=True)}
        out = []
        for req in fed:
            answer = answers.get(req.line) or _refused(batch, req)
            if answer.ok == succeeded:
                out.append(json.dumps(_item(batch, req, answer), separators=(",", ":")) + "\n")
        if out:
            yield "".join(out).encode()


def write_files(session: Session, batch: BatchRecord, completed: int,
                failed: int) -> tuple[str | None, str | None]:
    """Store the output file (if anything succeeded) and the error file (if anything failed)."""
    output = error = None
    if completed:
        output = save_file(session, batch.tenant, f"{batch.id}_output.jsonl", "batch_output",
                           lines(session, batch, True)).id
    if failed:
        error = save_file(session, batch.tenant, f"{batch.id}_error.jsonl", "batch_output",
                          lines(session, batch, False)).id
    return output, error
