"""Batch line handlers by endpoint: what a face registers so batches can run its requests.

A batch names one endpoint (`/v1/threads/runs`, `/v1/responses`, ...); the face serving it
checks each line, creates its run when the feeder reaches it, cancels it, and renders its
output line. Faces register their handlers in their `install()` (called by
orchestrator.wiring.install): the endpoints a batch may name are the registered ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlmodel import Session

from orchestrator.errors import APIError
from orchestrator.models import BatchRecord, BatchRequestRecord, RunRecord


@dataclass
class Line:
    """One well-formed input line; `error` (the envelope with its status_code) if its body is
    refused on its own: it never runs and gets an error line."""

    line: int
    custom_id: str
    thread_id: str | None
    body: dict[str, Any]
    error: dict[str, Any] | None = None


@dataclass
class Answer:
    """The `response` and `error` of a fed line's output entry; `ok` picks the file."""

    ok: bool
    response: dict[str, Any]
    error: dict[str, Any] | None


class LineHandler(Protocol):
    """Runs the lines of batches of one endpoint."""

    endpoint: str
    note: str  # what else lines may name, for the 400 on an unknown endpoint ("" if nothing)

    def target(self, number: int, url: object) -> str | None:
        """The thread a line's `url` names (None: a new one), or bad_line."""
        ...

    def check(self, number: int, body: dict[str, Any],
              thread_id: str | None) -> APIError | None:
        """Raise bad_line if the file may not hold this body; return the error of a body
        refused on its own (the line gets an error line, the others run); None if valid."""
        ...

    def references(self, line: Line) -> Iterable[tuple[Any, str, str]]:
        """(record model, noun, id) of the objects the line needs to exist in the tenant."""
        ...

    def start(self, session: Session, tenant: str, req: BatchRequestRecord) -> str:
        """Create the line's run (raising the service's APIError if refused); its id."""
        ...

    def cancel(self, session: Session, run: RunRecord) -> None:
        """Ask an unfinished run of a batch to stop (APIError if it ended meanwhile)."""
        ...

    def render(self, session: Session, batch: BatchRecord,
               done: list[tuple[BatchRequestRecord, RunRecord]]) -> list[Answer]:
        """The answers of fed lines with their runs, in the same order."""
        ...


_HANDLERS: dict[str, LineHandler] = {}


def register(handler: LineHandler) -> None:
    """Serve batches of `handler.endpoint` with it (again: replaces, so install is idempotent)."""
    _HANDLERS[handler.endpoint] = handler


def find(endpoint: str) -> LineHandler | None:
    """The handler of an endpoint, if a face registered one."""
    return _HANDLERS.get(endpoint)


def handler(endpoint: str) -> LineHandler:
    """The handler of a recorded batch's endpoint; missing means install() was not called."""
    found = _HANDLERS.get(endpoint)
    if found is None:
        raise RuntimeError(f"no batch line handler for {endpoint!r}:"
                           " was orchestrator.wiring.install() called?")
    return found


def handlers() -> list[LineHandler]:
    """Every registered handler, in registration order."""
    return list(_HANDLERS.values())
