"""/v1/threads/{thread_id}/runs/{run_id}/steps."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlmodel import Session

from orchestrator.api.answer import answer
from orchestrator.api.deps import DB, Page, Tenant
from orchestrator.api.unit_route import UnitOfWorkRoute
from orchestrator.faces.assistants.deps import ApiVersion
from orchestrator.faces.assistants.mappers import run as to_wire
from orchestrator.faces.assistants.schemas.run import RunStep
from orchestrator.faces.assistants.services import runs as svc
from orchestrator.models import RunStepRecord
from orchestrator.pagination import ListPage, page

router = APIRouter(prefix="/threads", tags=["run steps"], route_class=UnitOfWorkRoute)
Include = Annotated[list[str] | None, Query(alias="include[]")]


@router.get("/{thread_id}/runs/{run_id}/steps", response_model=ListPage[RunStep])
async def list_steps(thread_id: str, run_id: str, tenant: Tenant, v: ApiVersion, p: Page,
                     include: Include = None) -> Response:
    """A run's steps."""
    inc = frozenset(include or [])

    def work(db: Session) -> ListPage[RunStep]:
        svc.get(db, tenant, thread_id, run_id)
        return page(db, RunStepRecord, [RunStepRecord.run_id == run_id], p,
                    lambda r: to_wire.step(r, v, inc))
    return await answer(work)


@router.get("/{thread_id}/runs/{run_id}/steps/{step_id}", response_model=RunStep)
def retrieve_step(thread_id: str, run_id: str, step_id: str, db: DB, tenant: Tenant,
                  v: ApiVersion, include: Include = None) -> RunStep:
    """One step."""
    step = svc.get_step(db, tenant, thread_id, run_id, step_id)
    return to_wire.step(step, v, frozenset(include or []))
