"""/v1/threads: create, list (our extension), retrieve, modify, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Response
from sqlmodel import col

from orchestrator.api.answer import answer
from orchestrator.api.deps import DB, Page, Tenant
from orchestrator.api.unit_route import UnitOfWorkRoute
from orchestrator.faces.assistants.deps import ApiVersion
from orchestrator.faces.assistants.mappers import thread as to_wire
from orchestrator.faces.assistants.schemas.common import Deleted
from orchestrator.faces.assistants.schemas.thread import (
    CreateThread,
    ModifyThread,
    Thread,
    ThreadV1,
)
from orchestrator.faces.assistants.services import threads as svc
from orchestrator.models import ThreadRecord
from orchestrator.pagination import ListPage, page

router = APIRouter(prefix="/threads", tags=["threads"], route_class=UnitOfWorkRoute)
AnyThread = Thread | ThreadV1


@router.post("", response_model=AnyThread)
async def create_thread(tenant: Tenant, v: ApiVersion,
                        body: Annotated[CreateThread | None, Body()] = None) -> Response:
    """Create a thread, optionally with initial messages; an empty body is allowed."""
    return await answer(lambda db: to_wire.thread(svc.create(db, tenant, v,
                                                             body or CreateThread()), v))


@router.get("", response_model=ListPage[AnyThread])
def list_threads(db: DB, tenant: Tenant, v: ApiVersion, p: Page) -> ListPage[AnyThread]:
    """The tenant's threads, newest first (the hosted API had no such list)."""
    return page(db, ThreadRecord, [ThreadRecord.tenant == tenant, ~col(ThreadRecord.private)], p,
                lambda r: to_wire.thread(r, v))


@router.get("/{thread_id}", response_model=AnyThread)
async def retrieve_thread(thread_id: str, tenant: Tenant, v: ApiVersion) -> Response:
    """Retrieve a thread."""
    return await answer(lambda db: to_wire.thread(svc.get(db, tenant, thread_id), v))


@router.post("/{thread_id}", response_model=AnyThread)
def modify_thread(thread_id: str, body: ModifyThread, db: DB, tenant: Tenant,
                  v: ApiVersion) -> AnyThread:
    """Modify a thread's metadata (and, in v2, its tool resources)."""
    return to_wire.thread(svc.modify(db, tenant, v, thread_id, body), v)


@router.delete("/{thread_id}", response_model=Deleted)
def delete_thread(thread_id: str, db: DB, tenant: Tenant) -> Deleted:
    """Delete a thread and its messages."""
    svc.delete(db, tenant, thread_id)
    return Deleted(id=thread_id, object="thread.deleted")
