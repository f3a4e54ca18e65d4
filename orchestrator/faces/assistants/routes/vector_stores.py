"""/v1/vector_stores, with their files, file batches and search."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from orchestrator.api.deps import DB, Page, Tenant
from orchestrator.api.unit_route import UnitOfWorkRoute
from orchestrator.faces.assistants.mappers import vector_store as to_wire
from orchestrator.faces.assistants.schemas.common import Deleted
from orchestrator.faces.assistants.schemas.vector_store import (
    CreateFileBatch,
    CreateVectorStore,
    CreateVectorStoreFile,
    FileBatch,
    FileContent,
    FileContentPage,
    ModifyVectorStore,
    SearchPage,
    SearchRequest,
    UpdateVectorStoreFile,
    VectorStore,
    VectorStoreFile,
)
from orchestrator.faces.assistants.services import store_content, store_search
from orchestrator.faces.assistants.services import vector_stores as svc
from orchestrator.models import VectorStoreFileRecord, VectorStoreRecord
from orchestrator.pagination import ListPage, page

router = APIRouter(prefix="/vector_stores", tags=["vector stores"], route_class=UnitOfWorkRoute)
StatusFilter = Annotated[Literal["in_progress", "completed", "failed", "cancelled"] | None,
                         Query(alias="filter")]


@router.post("", response_model=VectorStore)
def create_vector_store(body: CreateVectorStore, db: DB, tenant: Tenant) -> VectorStore:
    """Create a vector store (its files are indexed by workers)."""
    return to_wire.vector_store(db, svc.create(db, tenant, body))


@router.get("", response_model=ListPage[VectorStore])
def list_vector_stores(db: DB, tenant: Tenant, p: Page) -> ListPage[VectorStore]:
    """List the tenant's vector stores."""
    return page(db, VectorStoreRecord, [VectorStoreRecord.tenant == tenant,
                                        VectorStoreRecord.internal == False],  # noqa: E712
                p, lambda r: to_wire.vector_store(db, r))


@router.get("/{vector_store_id}", response_model=VectorStore)
def retrieve_vector_store(vector_store_id: str, db: DB, tenant: Tenant) -> VectorStore:
    """Retrieve a vector store."""
    return to_wire.vector_store(db, svc.get(db, tenant, vector_store_id))


@router.post("/{vector_store_id}", response_model=VectorStore)
def modify_vector_store(vector_store_id: str, body: ModifyVectorStore, db: DB,
                        tenant: Tenant) -> VectorStore:
    """Modify a vector store."""
    return to_wire.vector_store(db, svc.modify(db, tenant, vector_store_id, body))


@router.delete("/{vector_store_id}", response_model=Deleted)
def delete_vector_store(vector_store_id: str, db: DB, tenant: Tenant) -> Deleted:
    """Delete a vector store (the files stay)."""
    svc.delete(db, tenant, vector_store_id)
    return Deleted(id=vector_store_id, object="vector_store.deleted")


@router.post("/{vector_store_id}/search", response_model=SearchPage)
def search_vector_store(vector_store_id: str, body: SearchRequest, db: DB,
                        tenant: Tenant) -> SearchPage:
    """Search a vector store's chunks."""
    return to_wire.search_page(*store_search.run_search(db, tenant, vector_store_id, body))


@router.post("/{vector_store_id}/files", response_model=VectorStoreFile)
def create_vector_store_file(vector_store_id: str, body: CreateVectorStoreFile, db: DB,
                             tenant: Tenant) -> VectorStoreFile:
    """Add a file to a vector store."""
    return to_wire.store_file(svc.create_file(db, tenant, vector_store_id, body.file_id,
                                              body.chunking_strategy, body.attributes))


@router.get("/{vector_store_id}/files", response_model=ListPage[VectorStoreFile])
def list_vector_store_files(vector_store_id: str, db: DB, tenant: Tenant, p: Page,
                            status: StatusFilter = None) -> ListPage[VectorStoreFile]:
    """List a vector store's files (optionally of one status)."""
    return page(db, VectorStoreFileRecord, svc.file_scope(db, tenant, vector_store_id, status),
                p, to_wire.store_file)


@router.get("/{vector_store_id}/files/{file_id}", response_model=VectorStoreFile)
def retrieve_vector_store_file(vector_store_id: str, file_id: str, db: DB,
                               tenant: Tenant) -> VectorStoreFile:
    """Retrieve a vector store file."""
    return to_wire.store_file(svc.get_file(db, tenant, vector_store_id, file_id))


@router.get("/{vector_store_id}/files/{file_id}/content", response_model=FileContentPage)
def retrieve_vector_store_file_content(vector_store_id: str, file_id: str, db: DB,
                                       tenant: Tenant) -> FileContentPage:
    """The file's parsed text, as one page of text parts (empty until it is indexed)."""
    parts = store_content.file_text(db, tenant, vector_store_id, file_id)
    return FileContentPage(data=[FileContent(text=t) for t in parts])


@router.post("/{vector_store_id}/files/{file_id}", response_model=VectorStoreFile)
def update_vector_store_file(vector_store_id: str, file_id: str, body: UpdateVectorStoreFile,
                             db: DB, tenant: Tenant) -> VectorStoreFile:
    """Replace a vector store file's attributes."""
    return to_wire.store_file(svc.update_file(db, tenant, vector_store_id, file_id,
                                              body.attributes))


@router.delete("/{vector_store_id}/files/{file_id}", response_model=Deleted)
def delete_vector_store_file(vector_store_id: str, file_id: str, db: DB,
                             tenant: Tenant) -> Deleted:
    """Take a file out of a vector store."""
    svc.delete_file(db, tenant, vector_store_id, file_id)
    return Deleted(id=file_id, object="vector_store.file.deleted")


@router.post("/{vector_store_id}/file_batches", response_model=FileBatch)
def create_file_batch(vector_store_id: str, body: CreateFileBatch, db: DB,
                      tenant: Tenant) -> FileBatch:
    """Add several files at once."""
    return to_wire.batch(db, svc.create_batch(db, tenant, vector_store_id, body))


@router.get("/{vector_store_id}/file_batches/{batch_id}", response_model=FileBatch)
def retrieve_file_batch(vector_store_id: str, batch_id: str, db: DB,
                        tenant: Tenant) -> FileBatch:
    """Retrieve a file batch."""
    return to_wire.batch(db, svc.get_batch(db, tenant, vector_store_id, batch_id))


@router.post("/{vector_store_id}/file_batches/{batch_id}/cancel", response_model=FileBatch)
def cancel_file_batch(vector_store_id: str, batch_id: str, db: DB,
                      tenant: Tenant) -> FileBatch:
    """Cancel the files of a batch not indexed yet."""
    return to_wire.batch(db, svc.cancel_batch(db, tenant, vector_store_id, batch_id))


@router.get("/{vector_store_id}/file_batches/{batch_id}/files",
            response_model=ListPage[VectorStoreFile])
def list_file_batch_files(vector_store_id: str, batch_id: str, db: DB, tenant: Tenant,
                          p: Page, status: StatusFilter = None) -> ListPage[VectorStoreFile]:
    """List a batch's files."""
    svc.get_batch(db, tenant, vector_store_id, batch_id)
    return page(db, VectorStoreFileRecord,
                svc.file_scope(db, tenant, vector_store_id, status, batch_id), p,
                to_wire.store_file)
