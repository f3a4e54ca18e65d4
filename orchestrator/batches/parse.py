"""Validate a batch input file up front: every line or a 400 naming the first bad one.

The line's envelope (JSON, custom_id, method) is checked here; its url and body by the
endpoint's handler (batches.lines), which may instead refuse a body on its own: that line is
kept with its error, and gets an error line.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, select

from orchestrator import surrogates
from orchestrator.batches.lines import Line, LineHandler
from orchestrator.errors import InvalidRequest

MAX_CUSTOM_ID = 512
LOOKUP_CHUNK = 500


def bad_line(line: int, message: str) -> InvalidRequest:
    """The 400 for a malformed input file, naming the line (1-based)."""
    return InvalidRequest(f"Invalid batch input file, line {line}: {message}",
                          param="input_file_id", code="invalid_batch_input")


def lines_of(chunks: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) of each line of a streamed file; blank lines are skipped."""
    rest = b""
    number = 0
    for chunk in chunks:
        rest += chunk
        *complete, rest = rest.split(b"\n")
        for raw in complete:
            number += 1
            if raw.strip():
                yield number, raw
    if rest.strip():
        yield number + 1, rest


def first_error(exc: ValidationError) -> str:
    """The first problem pydantic found in a line's body, as `body.<where>: <message>`."""
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ()))
    return f"body.{where}: {err.get('msg')}" if where else f"body: {err.get('msg')}"


def parse_line(number: int, raw: bytes, seen: set[str], handler: LineHandler) -> Line:
    """Check one line's shape: JSON object, unique custom_id, POST, then (by the endpoint's
    handler) its url and a valid body."""
    try:
        item = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_line(number, f"not valid JSON ({exc}).") from None
    where = surrogates.find(item) if surrogates.may_hold(raw) else None
    if where is not None:  # before anything echoes the line's text back
        named = f"'{where}'" if where else "the line"
        raise bad_line(number, f"{named}: {surrogates.REASON}")
    if not isinstance(item, dict):
        raise bad_line(number, "expected a JSON object.")
    custom_id = item.get("custom_id")
    if (not isinstance(custom_id, str) or not custom_id or len(custom_id) > MAX_CUSTOM_ID
            or "\x00" in custom_id):
        raise bad_line(number, "'custom_id' must be a non-empty string of at most "
                               f"{MAX_CUSTOM_ID} characters (no NUL).")
    if custom_id in seen:
        raise bad_line(number, f"duplicate custom_id '{custom_id}'.")
    seen.add(custom_id)
    if item.get("method") != "POST":
        raise bad_line(number, "'method' must be 'POST'.")
    thread_id = handler.target(number, item.get("url"))
    body = item.get("body")
    if not isinstance(body, dict):
        raise bad_line(number, "'body' must be a JSON object.")
    refused = handler.check(number, body, thread_id)
    error = None if refused is None else {"status_code": refused.status_code, **refused.body()}
    return Line(number, custom_id, thread_id, body, error)


def _missing(session: Session, model: Any, tenant: str, ids: set[str]) -> set[str]:
    found: set[str] = set()
    wanted = sorted(ids)
    for i in range(0, len(wanted), LOOKUP_CHUNK):
        part = wanted[i:i + LOOKUP_CHUNK]
        found.update(session.exec(select(model.id).where(
            col(model.id).in_(part), model.tenant == tenant)).all())
    return ids - found


def parse_file(session: Session, tenant: str, handler: LineHandler, chunks: Iterable[bytes],
               sink: Callable[[list[Line]], None], chunk: int = 1000) -> int:
    """Validate every line, handing them to `sink` in chunks as they come; the line count.

    Memory stays proportional to the distinct ids, not to the file: the caller inserts each
    chunk, and a later bad line (or an unknown object a line names) rolls all of it back.
    """
    seen: set[str] = set()
    named: dict[tuple[Any, str], dict[str, int]] = {}  # (model, noun) -> id -> first line
    pending: list[Line] = []
    count = 0
    for number, raw in lines_of(chunks):
        line = parse_line(number, raw, seen, handler)
        for model, noun, object_id in handler.references(line):
            named.setdefault((model, noun), {}).setdefault(object_id, line.line)
        pending.append(line)
        count += 1
        if len(pending) >= chunk:
            sink(pending)
            pending = []
    if not count:
        raise InvalidRequest("The batch input file is empty.", param="input_file_id",
                             code="invalid_batch_input")
    if pending:
        sink(pending)
    problems = [(first[i], f"No {noun} found with id '{i}'.")
                for (model, noun), first in named.items()
                for i in _missing(session, model, tenant, set(first))]
    if problems:
        raise bad_line(*min(problems))
    return count
