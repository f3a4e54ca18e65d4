"""A request's unit of work and its JSON answer on one worker thread: one hop, not four.

A sync endpoint with the DB dependency costs FastAPI four trips to its thread pool (the
dependency's enter and exit, the endpoint, the check of its return value), each a hand-over of
the GIL between threads. The hot paths (run create, retrieve and list, message create and list)
are async endpoints that make one trip: the work in a unit of work, then the wire object
serialised by pydantic in the same thread. Their `response_model` still documents the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from pydantic import BaseModel
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from orchestrator.db import unit_of_work

T = TypeVar("T")


def as_json(model: BaseModel) -> bytes:
    """The wire object as FastAPI would send it for its response_model (by alias)."""
    return type(model).__pydantic_serializer__.to_json(model, by_alias=True)


async def in_unit_of_work(work: Callable[[Session], T]) -> T:
    """`work(session)` in a committed unit of work, on a worker thread."""
    def run() -> T:
        with unit_of_work() as session:
            return work(session)
    return await run_in_threadpool(run)


async def answer(work: Callable[[Session], BaseModel], *,
                 headers: Mapping[str, str] | None = None) -> Response:
    """Answer 200 with `work(session)`'s wire object, committed and serialised off the loop."""
    def run() -> bytes:
        with unit_of_work() as session:
            model = work(session)
        return as_json(model)
    return Response(await run_in_threadpool(run), media_type="application/json",
                    headers=headers)
