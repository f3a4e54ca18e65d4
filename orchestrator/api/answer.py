"""A request's unit of work and its JSON answer on one worker thread: one hop, not four.

A sync endpoint with the DB dependency costs FastAPI four trips to its thread pool (the
dependency's enter and exit, the endpoint, the check of its return value), each a hand-over of
the GIL between threads. The hot paths (run create, retrieve and list, message create and list,
a response's create and retrieve) are async endpoints that make one trip: the work in a unit of
work, then the wire object serialised in the same thread, by pydantic for a model and by
`json.dumps` for a dict (FastAPI's jsonable_encoder walks a dict in Python first: about 120 µs
for a small response). A route's `response_model` still documents its answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from orchestrator.db import unit_of_work

T = TypeVar("T")


def as_json(wire: BaseModel | dict[str, Any]) -> bytes:
    """The wire object as FastAPI would send it: a model by alias, a dict as its JSONResponse
    does (anything `json` cannot write, such as a model inside, goes through jsonable_encoder)."""
    if isinstance(wire, BaseModel):
        return type(wire).__pydantic_serializer__.to_json(wire, by_alias=True)
    return json.dumps(wire, ensure_ascii=False, allow_nan=False, separators=(",", ":"),
                      default=jsonable_encoder).encode()


def json_response(wire: BaseModel | dict[str, Any], *,
                  headers: Mapping[str, str] | None = None) -> Response:
    """A 200 answer with the wire object as its JSON body."""
    return Response(as_json(wire), media_type="application/json", headers=headers)


async def in_unit_of_work(work: Callable[[Session], T]) -> T:
    """`work(session)` in a committed unit of work, on a worker thread."""
    def run() -> T:
        with unit_of_work() as session:
            return work(session)
    return await run_in_threadpool(run)


async def answer(work: Callable[[Session], BaseModel | dict[str, Any]], *,
                 headers: Mapping[str, str] | None = None) -> Response:
    """Answer 200 with `work(session)`'s wire object, committed and serialised off the loop."""
    body = await in_unit_of_work(lambda session: as_json(work(session)))
    return Response(body, media_type="application/json", headers=headers)
