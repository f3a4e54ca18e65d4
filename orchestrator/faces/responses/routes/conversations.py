"""/v1/conversations and their items (any thread is a conversation, its messages the items)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import delete as sql_delete
from sqlmodel import col, select

from orchestrator.api.deps import DB, Page, Tenant
from orchestrator.api.unit_route import UnitOfWorkRoute
from orchestrator.db import insert
from orchestrator.errors import not_found
from orchestrator.faces.responses import mappers
from orchestrator.faces.responses import services as svc
from orchestrator.faces.responses.items import item
from orchestrator.faces.responses.schemas import (
    CreateConversation,
    CreateItems,
    UpdateConversation,
)
from orchestrator.ids import new_id
from orchestrator.models import MessageRecord, ThreadRecord
from orchestrator.pagination import page, wire_page

router = APIRouter(prefix="/conversations", tags=["conversations"], route_class=UnitOfWorkRoute)
Include = Annotated[list[str] | None, Query(alias="include[]")]


@router.post("")
def create_conversation(body: CreateConversation, db: DB, tenant: Tenant) -> dict[str, Any]:
    """A new conversation, with up to 20 initial items."""
    thread = ThreadRecord(id=new_id("conversation"), tenant=tenant, meta=body.metadata)
    insert(db, thread)
    svc.new_messages(db, tenant, thread, body.items, "items")
    return mappers.conversation(thread)


@router.get("/{conversation_id}")
def retrieve_conversation(conversation_id: str, db: DB, tenant: Tenant) -> dict[str, Any]:
    """A conversation (a thread's id works too)."""
    return mappers.conversation(svc.conversation(db, tenant, conversation_id))


@router.post("/{conversation_id}")
def update_conversation(conversation_id: str, body: UpdateConversation, db: DB,
                        tenant: Tenant) -> dict[str, Any]:
    """Replace a conversation's metadata."""
    thread = svc.conversation(db, tenant, conversation_id)
    thread.meta = body.metadata
    db.add(thread)
    db.flush()
    return mappers.conversation(thread)


@router.delete("/{conversation_id}")
def delete_conversation(conversation_id: str, db: DB, tenant: Tenant) -> dict[str, Any]:
    """Delete a conversation and its items."""
    thread = svc.conversation(db, tenant, conversation_id)
    db.exec(sql_delete(MessageRecord).where(col(MessageRecord.thread_id) == thread.id))
    db.delete(thread)
    db.flush()
    return {"id": conversation_id, "object": "conversation.deleted", "deleted": True}


@router.post("/{conversation_id}/items")
def create_items(conversation_id: str, body: CreateItems, db: DB, tenant: Tenant,
                 include: Include = None) -> Any:
    """Add up to 20 items to a conversation."""
    thread = svc.conversation(db, tenant, conversation_id)
    added = svc.new_messages(db, tenant, thread, body.items, "items")
    return wire_page([item(m) for m in added], False)


@router.get("/{conversation_id}/items")
def list_items(conversation_id: str, db: DB, tenant: Tenant, p: Page,
               include: Include = None) -> Any:
    """A conversation's items, newest first by default."""
    thread = svc.conversation(db, tenant, conversation_id)
    return page(db, MessageRecord, [MessageRecord.thread_id == thread.id], p, item)


def _item(db: DB, tenant: str, conversation_id: str, item_id: str) -> MessageRecord:
    thread = svc.conversation(db, tenant, conversation_id)
    msg = db.exec(select(MessageRecord).where(
        MessageRecord.id == item_id, MessageRecord.thread_id == thread.id)).first()
    if msg is None:
        raise not_found("item", item_id)
    return msg


@router.get("/{conversation_id}/items/{item_id}")
def retrieve_item(conversation_id: str, item_id: str, db: DB, tenant: Tenant,
                  include: Include = None) -> dict[str, Any]:
    """One item of a conversation."""
    return item(_item(db, tenant, conversation_id, item_id))


@router.delete("/{conversation_id}/items/{item_id}")
def delete_item(conversation_id: str, item_id: str, db: DB, tenant: Tenant) -> dict[str, Any]:
    """Remove an item; the answer is the conversation."""
    db.delete(_item(db, tenant, conversation_id, item_id))
    db.flush()
    return mappers.conversation(svc.conversation(db, tenant, conversation_id))
