"""Batches of /v1/responses: check a line, start and cancel its response, render its output.

Each line becomes a background response through the response service, so it runs, can be
read and cancelled like any other; the fields a batch cannot honour (stream, background,
store=false) refuse that line alone, as does any body POST /v1/responses would answer with a
400 (the line's error names the param). The url of every line must be the batch's endpoint.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session

from orchestrator.batches import lines
from orchestrator.batches.lines import Answer, Line
from orchestrator.batches.parse import bad_line
from orchestrator.db import inserts_now
from orchestrator.errors import APIError, InvalidRequest
from orchestrator.faces.responses import batch_output
from orchestrator.faces.responses import services as svc
from orchestrator.faces.responses.items import message_input
from orchestrator.faces.responses.schemas import CreateResponse
from orchestrator.models import BatchRecord, BatchRequestRecord, RunRecord
from orchestrator.validation import invalid_request

ENDPOINT = "/v1/responses"


def _unsupported(param: str, why: str) -> InvalidRequest:
    return InvalidRequest(f"'{param}' is not supported in a batch: {why}", param=param,
                          code="unsupported_parameter")


def refusal(body: dict[str, Any]) -> APIError | None:
    """Why this body cannot run as a batch line (checks that read nothing), or None."""
    try:
        spec = CreateResponse.model_validate(body)
    except ValidationError as exc:
        return invalid_request(exc.errors())
    if spec.stream:
        return _unsupported("stream", "a batch writes each response to its output file.")
    if spec.background is not None:
        return _unsupported("background", "every batch line runs in the background.")
    if spec.store is False:
        return _unsupported("store", "the batch keeps each response to write its output file.")
    if isinstance(spec.input, list):
        for i, entry in enumerate(spec.input):
            if isinstance(entry, dict) and entry.get("type") != "item_reference":
                try:
                    message_input(entry, f"input[{i}]")
                except APIError as exc:
                    return exc
    return None


def reads_its_thread(body: CreateResponse) -> bool:
    """Whether creating it reads back rows it writes, so they cannot wait for the chunk's
    INSERTs: a conversation's active response (the lock), or the function calls and outputs
    of a continued history or of non-message input items (checked to pair up)."""
    if body.conversation is not None or body.previous_response_id is not None:
        return True
    return isinstance(body.input, list) and any(
        isinstance(entry, dict) and entry.get("type", "message") != "message"
        for entry in body.input)


class Responses:
    """The line handler of `/v1/responses`."""

    endpoint = ENDPOINT
    note = ""

    def target(self, number: int, url: object) -> str | None:
        """Lines of a /v1/responses batch name that url and no other (no thread)."""
        if url != ENDPOINT:
            raise bad_line(number, f"'url' must be '{ENDPOINT}' for endpoint '{ENDPOINT}',"
                                   f" got {json.dumps(url)}.")
        return None

    def check(self, number: int, body: dict[str, Any],
              thread_id: str | None) -> APIError | None:
        """A body the response service would refuse, or a batch cannot run, is this line's
        error (the others run)."""
        return refusal(body)

    def references(self, line: Line) -> Iterable[tuple[Any, str, str]]:
        """None up front: a missing conversation or previous response refuses its line."""
        return ()

    def start(self, session: Session, tenant: str, req: BatchRequestRecord) -> str:
        """Create the line's background response through the response service; its id."""
        body = CreateResponse.model_validate({**req.body, "background": True})
        if not reads_its_thread(body):
            return svc.create(session, tenant, body).id
        with inserts_now(session):
            return svc.create(session, tenant, body).id

    def cancel(self, session: Session, run: RunRecord) -> None:
        """Cancel through the response service."""
        svc.cancel(session, run.tenant, run.id)

    def render(self, session: Session, batch: BatchRecord,
               done: list[tuple[BatchRequestRecord, RunRecord]]) -> list[Answer]:
        """The final Response objects."""
        return batch_output.render(session, [run for _, run in done])


def install() -> None:
    """Serve batches of /v1/responses (idempotent)."""
    lines.register(Responses())
