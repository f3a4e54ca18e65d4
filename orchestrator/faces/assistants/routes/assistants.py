"""/v1/assistants (and v1's /assistants/{id}/files)."""

from __future__ import annotations

from fastapi import APIRouter

from orchestrator.api.deps import DB, Page, Tenant
from orchestrator.api.unit_route import UnitOfWorkRoute
from orchestrator.faces.assistants.deps import ApiVersion
from orchestrator.faces.assistants.mappers import assistant as to_wire
from orchestrator.faces.assistants.schemas.assistant import (
    Assistant,
    AssistantFile,
    AssistantV1,
    CreateAssistant,
    CreateAssistantFile,
    ModifyAssistant,
)
from orchestrator.faces.assistants.schemas.common import Deleted
from orchestrator.faces.assistants.services import assistants as svc
from orchestrator.models import AssistantRecord
from orchestrator.pagination import ListPage, page, page_in_memory

router = APIRouter(prefix="/assistants", tags=["assistants"], route_class=UnitOfWorkRoute)
AnyAssistant = Assistant | AssistantV1


@router.post("", response_model=AnyAssistant)
def create_assistant(body: CreateAssistant, db: DB, tenant: Tenant, v: ApiVersion) -> AnyAssistant:
    """Create an assistant."""
    return to_wire.assistant(svc.create(db, tenant, v, body), v)


@router.get("", response_model=ListPage[AnyAssistant])
def list_assistants(db: DB, tenant: Tenant, v: ApiVersion, p: Page) -> ListPage[AnyAssistant]:
    """List the tenant's assistants."""
    return page(db, AssistantRecord, [AssistantRecord.tenant == tenant], p,
                lambda r: to_wire.assistant(r, v))


@router.get("/{assistant_id}", response_model=AnyAssistant)
def retrieve_assistant(assistant_id: str, db: DB, tenant: Tenant, v: ApiVersion) -> AnyAssistant:
    """Retrieve an assistant."""
    return to_wire.assistant(svc.get(db, tenant, assistant_id), v)


@router.post("/{assistant_id}", response_model=AnyAssistant)
def modify_assistant(assistant_id: str, body: ModifyAssistant, db: DB, tenant: Tenant,
                     v: ApiVersion) -> AnyAssistant:
    """Modify an assistant."""
    return to_wire.assistant(svc.modify(db, tenant, v, assistant_id, body), v)


@router.delete("/{assistant_id}", response_model=Deleted)
def delete_assistant(assistant_id: str, db: DB, tenant: Tenant) -> Deleted:
    """Delete an assistant."""
    svc.delete(db, tenant, assistant_id)
    return Deleted(id=assistant_id, object="assistant.deleted")


@router.post("/{assistant_id}/files", response_model=AssistantFile)
def create_assistant_file(assistant_id: str, body: CreateAssistantFile, db: DB,
                          tenant: Tenant) -> AssistantFile:
    """v1: attach a file to an assistant."""
    link = svc.attach_file(db, tenant, assistant_id, body.file_id)
    return to_wire.assistant_file(svc.get(db, tenant, assistant_id), link)


@router.get("/{assistant_id}/files", response_model=ListPage[AssistantFile])
def list_assistant_files(assistant_id: str, db: DB, tenant: Tenant,
                         p: Page) -> ListPage[AssistantFile]:
    """v1: list an assistant's files."""
    rec = svc.get(db, tenant, assistant_id)
    return page_in_memory([to_wire.assistant_file(rec, link) for link in rec.file_links], p)


@router.get("/{assistant_id}/files/{file_id}", response_model=AssistantFile)
def retrieve_assistant_file(assistant_id: str, file_id: str, db: DB,
                            tenant: Tenant) -> AssistantFile:
    """v1: retrieve an attached file."""
    rec, link = svc.file_link(db, tenant, assistant_id, file_id)
    return to_wire.assistant_file(rec, link)


@router.delete("/{assistant_id}/files/{file_id}", response_model=Deleted)
def delete_assistant_file(assistant_id: str, file_id: str, db: DB, tenant: Tenant) -> Deleted:
    """v1: detach a file from an assistant."""
    svc.detach_file(db, tenant, assistant_id, file_id)
    return Deleted(id=file_id, object="assistant.file.deleted")
