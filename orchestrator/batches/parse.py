"""Validate a batch input file up front: every line or a 400 naming the first bad one."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, select

from orchestrator.errors import InvalidRequest
from orchestrator.models import AssistantRecord, ThreadRecord
from orchestrator.schemas.run import CreateRun, CreateThreadAndRun

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


def parse_file(session: Session, tenant: str, chunks: Iterable[bytes]) -> list[Line]:
    """Every line of the input, validated, with its assistant and thread known to the tenant."""
    seen: set[str] = set()
    parsed = [parse_line(number, raw, seen) for number, raw in lines_of(chunks)]
    if not parsed:
        raise InvalidRequest("The batch input file is empty.", param="input_file_id",
                             code="invalid_batch_input")
    unknown = _missing(session, AssistantRecord, tenant,
                       {p.body["assistant_id"] for p in parsed})
    unknown_threads = _missing(session, ThreadRecord, tenant,
                               {p.thread_id for p in parsed if p.thread_id})
    for p in parsed:
        if p.body["assistant_id"] in unknown:
            raise bad_line(p.line, f"No assistant found with id '{p.body['assistant_id']}'.")
        if p.thread_id in unknown_threads:
            raise bad_line(p.line, f"No thread found with id '{p.thread_id}'.")
    return parsed
