"""/v1/threads/{thread_id}/messages (and v1's message files)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlmodel import Session

from orchestrator.api.answer import answer
from orchestrator.api.deps import DB, Page, Tenant
from orchestrator.api.unit_route import UnitOfWorkRoute
from orchestrator.faces.assistants.deps import ApiVersion
from orchestrator.faces.assistants.mappers import message as to_wire
from orchestrator.faces.assistants.schemas.common import Deleted
from orchestrator.faces.assistants.schemas.message import (
    CreateMessage,
    Message,
    MessageFile,
    MessageV1,
    ModifyMessage,
)
from orchestrator.faces.assistants.services import messages as svc
from orchestrator.models import MessageRecord
from orchestrator.pagination import ListPage, page, page_in_memory

router = APIRouter(prefix="/threads/{thread_id}/messages", tags=["messages"],
                   route_class=UnitOfWorkRoute)
AnyMessage = Message | MessageV1


@router.post("", response_model=AnyMessage)
async def create_message(thread_id: str, body: CreateMessage, tenant: Tenant,
                         v: ApiVersion) -> Response:
    """Add a message to a thread."""
    return await answer(lambda db: to_wire.message(svc.create(db, tenant, v, thread_id, body), v))


@router.get("", response_model=ListPage[AnyMessage])
async def list_messages(thread_id: str, tenant: Tenant, v: ApiVersion, p: Page,
                        run_id: Annotated[str | None, Query()] = None) -> Response:
    """List a thread's messages (newest first by default), optionally those of one run."""
    def work(db: Session) -> ListPage[AnyMessage]:
        scope = svc.scope_of(tenant, thread_id, run_id)
        return svc.thread_page(db, tenant, thread_id, p, lambda: page(
            db, MessageRecord, scope, p, lambda r: to_wire.message(r, v)))
    return await answer(work)


@router.get("/{message_id}", response_model=AnyMessage)
async def retrieve_message(thread_id: str, message_id: str, tenant: Tenant,
                           v: ApiVersion) -> Response:
    """Retrieve a message."""
    return await answer(lambda db: to_wire.message(svc.get(db, tenant, thread_id, message_id), v))


@router.post("/{message_id}", response_model=AnyMessage)
def modify_message(thread_id: str, message_id: str, body: ModifyMessage, db: DB,
                   tenant: Tenant, v: ApiVersion) -> AnyMessage:
    """Modify a message's metadata."""
    return to_wire.message(svc.modify(db, tenant, thread_id, message_id, body), v)


@router.delete("/{message_id}", response_model=Deleted)
def delete_message(thread_id: str, message_id: str, db: DB, tenant: Tenant) -> Deleted:
    """Delete a message."""
    svc.delete(db, tenant, thread_id, message_id)
    return Deleted(id=message_id, object="thread.message.deleted")


@router.get("/{message_id}/files", response_model=ListPage[MessageFile])
def list_message_files(thread_id: str, message_id: str, db: DB, tenant: Tenant,
                       p: Page) -> ListPage[MessageFile]:
    """v1: list a message's files."""
    rec = svc.get(db, tenant, thread_id, message_id)
    return page_in_memory([to_wire.message_file(rec, f) for f in svc.file_ids(rec)], p)


@router.get("/{message_id}/files/{file_id}", response_model=MessageFile)
def retrieve_message_file(thread_id: str, message_id: str, file_id: str, db: DB,
                          tenant: Tenant) -> MessageFile:
    """v1: retrieve one of a message's files."""
    rec = svc.get(db, tenant, thread_id, message_id)
    return to_wire.message_file(rec, svc.require_file(rec, file_id))
