"""Batches of /v1/threads/runs: check a line, start and cancel its run, render its output."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session

from orchestrator.batches import lines
from orchestrator.batches.lines import Answer, Line
from orchestrator.batches.parse import bad_line, first_error
from orchestrator.db import inserts_now
from orchestrator.faces.assistants import batch_output
from orchestrator.faces.assistants.schemas.run import CreateRun, CreateThreadAndRun
from orchestrator.faces.assistants.services import runs
from orchestrator.models import (
    AssistantRecord,
    BatchRecord,
    BatchRequestRecord,
    RunRecord,
    ThreadRecord,
)

ENDPOINT = "/v1/threads/runs"
THREAD_URL = re.compile(r"^/v1/threads/([A-Za-z0-9_-]{1,64})/runs$")


class ThreadRuns:
    """The line handler of `/v1/threads/runs` (lines may also name a thread's runs)."""

    endpoint = ENDPOINT
    note = "lines may name '/v1/threads/{thread_id}/runs'"

    def target(self, number: int, url: object) -> str | None:
        """The thread of a `/v1/threads/{id}/runs` url, None for `/v1/threads/runs`."""
        match = THREAD_URL.match(url) if isinstance(url, str) else None
        if url != ENDPOINT and match is None:
            raise bad_line(number, f"'url' must be '{ENDPOINT}' or '/v1/threads/{{thread_id}}/runs'"
                                   f" for endpoint '{ENDPOINT}', got {json.dumps(url)}.")
        return match.group(1) if match else None

    def check(self, number: int, body: dict[str, Any], thread_id: str | None) -> None:
        """A valid create-run (thread given) or create-thread-and-run body, not streamed."""
        try:
            spec = (CreateRun if thread_id else CreateThreadAndRun).model_validate(body)
        except ValidationError as exc:
            raise bad_line(number, first_error(exc)) from None
        if spec.stream:
            raise bad_line(number, "body.stream: streaming is not available in a batch.")

    def references(self, line: Line) -> Iterable[tuple[Any, str, str]]:
        """The assistant, and the thread if the url names one."""
        yield AssistantRecord, "assistant", line.body["assistant_id"]
        if line.thread_id:
            yield ThreadRecord, "thread", line.thread_id

    def start(self, session: Session, tenant: str, req: BatchRequestRecord) -> str:
        """Create the line's run through the run service; its id."""
        if req.thread_id:  # an existing thread may have an active run: insert now, to see it
            with inserts_now(session):
                run = runs.create(session, tenant, "v2", req.thread_id,
                                  CreateRun.model_validate(req.body))
        else:
            _thread, run = runs.create_thread_and_run(session, tenant, "v2",
                                                      CreateThreadAndRun.model_validate(req.body))
        return run.id

    def cancel(self, session: Session, run: RunRecord) -> None:
        """Cancel through the run service."""
        runs.cancel(session, run.tenant, run.thread_id, run.id)

    def render(self, session: Session, batch: BatchRecord,
               done: list[tuple[BatchRequestRecord, RunRecord]]) -> list[Answer]:
        """The final run objects with their answers."""
        return batch_output.render(session, batch, done)


def install() -> None:
    """Serve batches of /v1/threads/runs (idempotent)."""
    lines.register(ThreadRuns())
