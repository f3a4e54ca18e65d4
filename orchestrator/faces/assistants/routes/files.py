"""/v1/files: upload (streamed), list, retrieve, delete, download."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from orchestrator.api.deps import DB, Tenant
from orchestrator.api.downloads import content_disposition
from orchestrator.api.unit_route import UnitOfWorkRoute
from orchestrator.errors import APIError
from orchestrator.faces.assistants.mappers import file as to_wire
from orchestrator.faces.assistants.schemas.file import UPLOAD_SCHEMA, FileDeleted, FileObject
from orchestrator.faces.assistants.services import files as svc
from orchestrator.faces.assistants.uploads import receive_upload
from orchestrator.models import FileRecord
from orchestrator.pagination import ListPage, PageParams, check_limit, page

router = APIRouter(tags=["files"], route_class=UnitOfWorkRoute)
MAX_LIST = 10_000


def file_page(
    limit: Annotated[int, Query()] = MAX_LIST,
    order: Annotated[Literal["asc", "desc"], Query()] = "desc",
    after: Annotated[str | None, Query()] = None,
    before: Annotated[str | None, Query()] = None,
) -> PageParams:
    """/files list parameters: limit 1-10,000, default 10,000 (`before` accepted as elsewhere)."""
    return PageParams(limit=check_limit(limit, MAX_LIST), order=order, after=after, before=before)


FilePage = Annotated[PageParams, Depends(file_page)]
UPLOAD_BODY = {"requestBody": {"required": True,
                               "content": {"multipart/form-data": {"schema": UPLOAD_SCHEMA}}}}


@router.post("/files", response_model=FileObject, openapi_extra=UPLOAD_BODY)
async def create_file(request: Request, tenant: Tenant) -> FileObject | JSONResponse:
    """Upload a file (multipart: file, purpose, expires_after[anchor|seconds])."""
    try:
        return to_wire.file(await receive_upload(request, tenant))
    except APIError as exc:
        # The body may be unread (413 mid-stream): close the connection rather than drain it.
        return JSONResponse(exc.body(), status_code=exc.status_code,
                            headers={"Connection": "close"})


@router.get("/files", response_model=ListPage[FileObject])
def list_files(db: DB, tenant: Tenant, p: FilePage,
               purpose: Annotated[str | None, Query()] = None) -> ListPage[FileObject]:
    """List the tenant's files, optionally of one purpose."""
    return page(db, FileRecord, svc.list_scope(tenant, purpose), p, to_wire.file)


@router.get("/files/{file_id}", response_model=FileObject)
def retrieve_file(file_id: str, db: DB, tenant: Tenant) -> FileObject:
    """Retrieve a file's metadata."""
    return to_wire.file(svc.get(db, tenant, file_id))


@router.delete("/files/{file_id}", response_model=FileDeleted)
def delete_file(file_id: str, db: DB, tenant: Tenant) -> FileDeleted:
    """Delete a file; its bytes go once the deletion has committed."""
    svc.delete(db, tenant, file_id)
    return FileDeleted(id=file_id)


@router.get("/files/{file_id}/content", response_class=StreamingResponse,
            responses={200: {"content": {"application/octet-stream": {
                "schema": {"type": "string", "format": "binary"}}}}})
def download_file(file_id: str, db: DB, tenant: Tenant) -> StreamingResponse:
    """Stream the file's bytes."""
    rec, size, chunks = svc.content(db, tenant, file_id)
    return StreamingResponse(chunks, media_type="application/octet-stream", headers={
        "Content-Length": str(size), "Content-Disposition": content_disposition(rec.filename)})

