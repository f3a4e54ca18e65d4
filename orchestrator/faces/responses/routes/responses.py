"""/v1/responses: create (plain, background, stream), retrieve (or resume its stream),
cancel, delete, input items and input token counts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from orchestrator.api.answer import answer, in_unit_of_work, json_response
from orchestrator.api.deps import DB, Page, Tenant
from orchestrator.api.unit_route import UnitOfWorkRoute
from orchestrator.config import get_settings
from orchestrator.db import unit_of_work
from orchestrator.errors import InvalidRequest
from orchestrator.faces.responses import mappers
from orchestrator.faces.responses import services as svc
from orchestrator.faces.responses.items import item
from orchestrator.faces.responses.render import END_EVENTS, numbered
from orchestrator.faces.responses.schemas import CreateResponse, InputTokens
from orchestrator.models import RunRecord
from orchestrator.pagination import page_in_memory, wire_page
from orchestrator.records import get_owned
from orchestrator.streaming.relay import relay, wait_for_end

router = APIRouter(prefix="/responses", tags=["responses"], route_class=UnitOfWorkRoute)
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
Include = Annotated[list[str] | None, Query(alias="include[]")]


def _create(tenant: str, body: CreateResponse) -> dict[str, Any]:
    with unit_of_work() as db:
        run = svc.create(db, tenant, body)
        return {"run": run, "wire": mappers.response(run, [])}


def _forget(tenant: str, response_id: str) -> None:
    """A store=false response is gone once its answer has been given."""
    with unit_of_work() as db:
        svc.drop_unstored(db, tenant, response_id)


def _current(tenant: str, response_id: str) -> dict[str, Any]:
    with unit_of_work() as db:
        run = get_owned(db, RunRecord, tenant, response_id, "response")
        return mappers.response(run, svc.output_items(db, run))


async def _stream(run: RunRecord, starting_after: int = -1,
                  forget: bool = False) -> AsyncIterator[bytes]:
    async for frame in relay(run.id, ends=END_EVENTS, view=numbered(starting_after)):
        yield frame
    if forget:
        await run_in_threadpool(_forget, run.tenant, run.id)


@router.post("")
async def create_response(body: CreateResponse, tenant: Tenant) -> Any:
    """Create a response: answered when done, at once (background), or as a stream."""
    made = await run_in_threadpool(_create, tenant, body)
    run: RunRecord = made["run"]
    stored = body.store is not False
    if body.stream:
        return StreamingResponse(_stream(run, forget=not stored),
                                 media_type="text/event-stream", headers=SSE_HEADERS)
    if body.background:
        return json_response(made["wire"])
    final = await wait_for_end(run.id, ends=END_EVENTS,
                               timeout=get_settings().response_wait_seconds)
    if final is None:  # still going: the response as it is now (store=false: kept till done)
        return json_response(await run_in_threadpool(_current, tenant, run.id))
    if not stored:
        await run_in_threadpool(_forget, tenant, run.id)
    return json_response(final["response"])


@router.post("/input_tokens")
def count_input_tokens(body: InputTokens, db: DB, tenant: Tenant) -> dict[str, Any]:
    """How many input tokens a response with this input would read (an estimate)."""
    return {"object": "response.input_tokens",
            "input_tokens": svc.input_tokens(db, tenant, body)}


@router.get("/{response_id}")
async def retrieve_response(response_id: str, tenant: Tenant, include: Include = None,
                            stream: bool = False, starting_after: int | None = None) -> Any:
    """A stored response, or (stream=true) its event stream from `starting_after`."""
    if stream:
        run = await in_unit_of_work(lambda db: svc.get(db, tenant, response_id))
        if not run.stream:
            raise InvalidRequest("This response was not created with stream=true, so it has"
                                 " no stream to read.", param="stream")
        return StreamingResponse(_stream(run, -1 if starting_after is None else starting_after),
                                 media_type="text/event-stream", headers=SSE_HEADERS)

    def work(db: Session) -> dict[str, Any]:
        run = svc.get(db, tenant, response_id)
        return mappers.response(run, svc.output_items(db, run, include or []))
    return await answer(work)


@router.delete("/{response_id}")
def delete_response(response_id: str, db: DB, tenant: Tenant) -> dict[str, Any]:
    """Delete a stored response."""
    svc.delete(db, tenant, response_id)
    return {"id": response_id, "object": "response", "deleted": True}


@router.post("/{response_id}/cancel")
def cancel_response(response_id: str, db: DB, tenant: Tenant) -> Any:
    """Cancel a background response that is still queued or in progress."""
    run = svc.cancel(db, tenant, response_id)
    return mappers.response(run, svc.output_items(db, run))


@router.get("/{response_id}/input_items")
def list_input_items(response_id: str, db: DB, tenant: Tenant, p: Page,
                     include: Include = None) -> Any:
    """The items this response's request gave as input."""
    run = svc.get(db, tenant, response_id)
    chosen = page_in_memory(svc.inputs(db, run), p)
    return wire_page([item(m) for m in chosen.data], chosen.has_more)
