"""The output and error files of a finished batch: one JSONL line per request, in input order."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlmodel import Session, col, select

from orchestrator.engine.status import RunStatus
from orchestrator.faces.assistants.mappers import run as run_wire
from orchestrator.faces.assistants.mappers.message import message as message_wire
from orchestrator.faces.assistants.services.files import save_file
from orchestrator.models import BatchRecord, BatchRequestRecord, MessageRecord, RunRecord

PAGE = 500
# The assistant's answers ride along with the final run object under this key.
MESSAGES_KEY = "messages"


def _page(session: Session, batch_id: str, after: int) -> list[BatchRequestRecord]:
    return list(session.exec(select(BatchRequestRecord).where(
        BatchRequestRecord.batch_id == batch_id, col(BatchRequestRecord.line) > after,
    ).order_by(col(BatchRequestRecord.line)).limit(PAGE)).all())


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


def _line(batch: BatchRecord, req: BatchRequestRecord, run: RunRecord | None,
          answers: list[dict[str, Any]]) -> tuple[bool, dict[str, Any]]:
    """(succeeded, the output line) for one request."""
    item: dict[str, Any] = {"id": f"batch_req_{batch.id.removeprefix('batch_')}_{req.line}",
                            "custom_id": req.custom_id}
    if run is None:  # refused by the run service when it was fed
        error = (req.error or {}).get("error", {})
        item["response"] = {"status_code": int((req.error or {}).get("status_code", 400)),
                            "request_id": f"req_{batch.id.removeprefix('batch_')}_{req.line}",
                            "body": {"error": error}}
        item["error"] = {"code": error.get("code") or "invalid_request",
                         "message": error.get("message")}
        return False, item
    body = {**run_wire.run(run).model_dump(mode="json"), MESSAGES_KEY: answers}
    item["response"] = {"status_code": 200, "request_id": f"req_{run.id.removeprefix('run_')}",
                        "body": body}
    if run.status == RunStatus.COMPLETED.value:
        item["error"] = None
        return True, item
    last = run.last_error or {}
    item["error"] = {"code": last.get("code") or f"run_{run.status}",
                     "message": last.get("message") or f"The run ended with status"
                                                       f" '{run.status}'."}
    return False, item


def lines(session: Session, batch: BatchRecord, succeeded: bool) -> Iterator[bytes]:
    """The JSONL bytes of the output file (succeeded) or the error file, page by page."""
    after = 0
    while page := _page(session, batch.id, after):
        after = page[-1].line
        fed = [r for r in page if r.run_id or r.error]
        run_ids = [str(r.run_id) for r in fed if r.run_id]
        runs = {r.id: r for r in session.exec(select(RunRecord).where(
            col(RunRecord.id).in_(run_ids))).all()} if run_ids else {}
        answers = _answers(session, run_ids)
        out = []
        for req in fed:
            run = runs.get(str(req.run_id)) if req.run_id else None
            ok, item = _line(batch, req, run, answers.get(run.id, []) if run else [])
            if ok == succeeded:
                out.append(json.dumps(item, separators=(",", ":")) + "\n")
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
