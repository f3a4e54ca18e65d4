"""Validate a batch input file up front: every line or a 400 naming the first bad one."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, select

from orchestrator import surrogates
from orchestrator.errors import InvalidRequest
from orchestrator.faces.assistants.schemas.run import CreateRun, CreateThreadAndRun
from orchestrator.models import AssistantRecord, ThreadRecord

ENDPOINT = "/v1/threads/runs"
THREAD_URL = re.compile(r"^/v1/threads/([A-Za-z0-9_-]{1,64})/runs$")
MAX_CUSTOM_ID = 512
LOOKUP_CHUNK = 500


@dataclass
class Line:
    """One valid input line."""

    line: int
    custom_id: str
    thread_id: str | None
    body: dict[str, Any]


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


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ()))
    return f"body.{where}: {err.get('msg')}" if where else f"body: {err.get('msg')}"


def parse_line(number: int, raw: bytes, seen: set[str]) -> Line:
    """Check one line's shape: JSON object, unique custom_id, POST, url, a valid run body."""
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
    url = item.get("url")
    match = THREAD_URL.match(url) if isinstance(url, str) else None
    if url != ENDPOINT and match is None:
        raise bad_line(number, f"'url' must be '{ENDPOINT}' or '/v1/threads/{{thread_id}}/runs'"
                               f" for endpoint '{ENDPOINT}', got {json.dumps(url)}.")
    body = item.get("body")
    if not isinstance(body, dict):
        raise bad_line(number, "'body' must be a JSON object.")
    try:
        spec = (CreateRun if match else CreateThreadAndRun).model_validate(body)
    except ValidationError as exc:
        raise bad_line(number, _first_error(exc)) from None
    if spec.stream:
        raise bad_line(number, "body.stream: streaming is not available in a batch.")
    return Line(number, custom_id, match.group(1) if match else None, body)


def _missing(session: Session, model: Any, tenant: str, ids: set[str]) -> set[str]:
    found: set[str] = set()
    wanted = sorted(ids)
    for i in range(0, len(wanted), LOOKUP_CHUNK):
        part = wanted[i:i + LOOKUP_CHUNK]
        found.update(session.exec(select(model.id).where(
            col(model.id).in_(part), model.tenant == tenant)).all())
    return ids - found


def parse_file(session: Session, tenant: str, chunks: Iterable[bytes],
               sink: Callable[[list[Line]], None], chunk: int = 1000) -> int:
    """Validate every line, handing them to `sink` in chunks as they come; the line count.

    Memory stays proportional to the distinct ids, not to the file: the caller inserts each
    chunk, and a later bad line (or an unknown assistant / thread) rolls all of it back.
    """
    seen: set[str] = set()
    assistants: dict[str, int] = {}  # id -> first line naming it
    threads: dict[str, int] = {}
    pending: list[Line] = []
    count = 0
    for number, raw in lines_of(chunks):
        line = parse_line(number, raw, seen)
        assistants.setdefault(line.body["assistant_id"], line.line)
        if line.thread_id:
            threads.setdefault(line.thread_id, line.line)
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
    problems = [(assistants[a], f"No assistant found with id '{a}'.")
                for a in _missing(session, AssistantRecord, tenant, set(assistants))]
    problems += [(threads[t], f"No thread found with id '{t}'.")
                 for t in _missing(session, ThreadRecord, tenant, set(threads))]
    if problems:
        raise bad_line(*min(problems))
    return count
