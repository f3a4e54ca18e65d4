"""/v1/threads/runs and /v1/threads/{thread_id}/runs (with SSE streaming)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse
from sqlmodel import Session

from orchestrator.api.answer import answer, in_unit_of_work
from orchestrator.api.deps import DB, Page, Tenant
from orchestrator.api.unit_route import UnitOfWorkRoute
from orchestrator.db import unit_of_work
from orchestrator.faces.assistants.deps import ApiVersion
from orchestrator.faces.assistants.listeners import FACE
from orchestrator.faces.assistants.mappers import run as to_wire
from orchestrator.faces.assistants.mappers.events import v1_view
from orchestrator.faces.assistants.render import END_EVENTS
from orchestrator.faces.assistants.schemas.common import Version
from orchestrator.faces.assistants.schemas.run import (
    CreateRun,
    CreateThreadAndRun,
    ModifyRun,
    Run,
    RunV1,
    SubmitToolOutputs,
)
from orchestrator.faces.assistants.services import runs as svc
from orchestrator.faces.assistants.services.messages import thread_page
from orchestrator.models import RunRecord
from orchestrator.pagination import ListPage, page
from orchestrator.streaming.outbox import FIRST_STREAM_ID
from orchestrator.streaming.relay import exclusive_before, relay

router = APIRouter(prefix="/threads", tags=["runs"], route_class=UnitOfWorkRoute)
AnyRun = Run | RunV1
POLL_AFTER = {"openai-poll-after-ms": "500"}
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
Include = Annotated[list[str] | None, Query(alias="include[]")]


def _sse(run: RunRecord, v: Version, start: str = "0-0") -> StreamingResponse:
    """The run's event stream, each event in the API version of the request that opened it."""
    view = v1_view(run.file_ids) if v == "v1" else None
    return StreamingResponse(relay(run.id, start, ends=END_EVENTS, view=view),
                             media_type="text/event-stream", headers=SSE_HEADERS)


@router.post("/runs", response_model=AnyRun)
async def create_thread_and_run(body: CreateThreadAndRun, tenant: Tenant,
                                v: ApiVersion) -> Response:
    """Create a thread and run it in one request."""
    if body.stream:
        _thread, run = await in_unit_of_work(
            lambda db: svc.create_thread_and_run(db, tenant, v, body))
        return _sse(run, v)
    return await answer(lambda db: to_wire.run(svc.create_thread_and_run(db, tenant, v, body)[1],
                                               v), headers=POLL_AFTER)


@router.post("/{thread_id}/runs", response_model=AnyRun)
async def create_run(thread_id: str, body: CreateRun, tenant: Tenant, v: ApiVersion,
                     include: Include = None) -> Response:
    """Create a run on a thread."""
    if body.stream:
        return _sse(await in_unit_of_work(lambda db: svc.create(db, tenant, v, thread_id, body)),
                    v)
    return await answer(lambda db: to_wire.run(svc.create(db, tenant, v, thread_id, body), v),
                        headers=POLL_AFTER)


@router.get("/{thread_id}/runs", response_model=ListPage[AnyRun])
async def list_runs(thread_id: str, tenant: Tenant, v: ApiVersion, p: Page) -> Response:
    """A thread's runs."""
    def work(db: Session) -> ListPage[AnyRun]:
        scope = [RunRecord.thread_id == thread_id, RunRecord.tenant == tenant,
                 RunRecord.face == FACE]
        return thread_page(db, tenant, thread_id, p, lambda: page(
            db, RunRecord, scope, p, lambda r: to_wire.run(r, v)))
    return await answer(work)


@router.get("/{thread_id}/runs/{run_id}", response_model=AnyRun)
async def retrieve_run(thread_id: str, run_id: str, tenant: Tenant, v: ApiVersion) -> Response:
    """One run."""
    return await answer(lambda db: to_wire.run(svc.get(db, tenant, thread_id, run_id), v),
                        headers=POLL_AFTER)


@router.post("/{thread_id}/runs/{run_id}", response_model=AnyRun)
def modify_run(thread_id: str, run_id: str, body: ModifyRun, db: DB, tenant: Tenant,
               v: ApiVersion) -> AnyRun:
    """Change a run's metadata."""
    return to_wire.run(svc.modify(db, tenant, thread_id, run_id, body), v)


@router.post("/{thread_id}/runs/{run_id}/cancel", response_model=AnyRun)
def cancel_run(thread_id: str, run_id: str, db: DB, tenant: Tenant, v: ApiVersion) -> AnyRun:
    """Ask an active run to stop."""
    return to_wire.run(svc.cancel(db, tenant, thread_id, run_id), v)


@router.post("/{thread_id}/runs/{run_id}/submit_tool_outputs", response_model=AnyRun)
def submit_tool_outputs(thread_id: str, run_id: str, body: SubmitToolOutputs, tenant: Tenant,
                        v: ApiVersion, response: Response) -> AnyRun | StreamingResponse:
    """Give the outputs of every pending function call; the run continues."""
    with unit_of_work() as db:
        run, _step = svc.submit_tool_outputs(db, tenant, thread_id, run_id, body)
    if body.stream:
        first = db.info.get(FIRST_STREAM_ID)
        return _sse(run, v, exclusive_before(first) if first else "$")
    response.headers.update(POLL_AFTER)
    return to_wire.run(run, v)
