"""/v1/containers and their files: create, list, retrieve, delete; file upload and download."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from orchestrator.api.deps import DB, Page, Tenant
from orchestrator.api.downloads import content_disposition
from orchestrator.api.unit_route import UnitOfWorkRoute
from orchestrator.config import get_settings
from orchestrator.db import unit_of_work
from orchestrator.errors import InvalidRequest, PayloadTooLarge
from orchestrator.faces.responses import containers as svc
from orchestrator.faces.responses import mappers
from orchestrator.faces.responses.schemas import CreateContainer, CreateContainerFile
from orchestrator.models import ContainerFileRecord, ContainerRecord
from orchestrator.pagination import page

router = APIRouter(prefix="/containers", tags=["containers"], route_class=UnitOfWorkRoute)
CHUNK = 64 * 1024
FILE_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": CreateContainerFile.model_json_schema()},
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary"}}}}}}}


def _wire(container: ContainerRecord) -> dict[str, Any]:
    return mappers.container(container, svc.expired(container))


@router.post("")
def create_container(body: CreateContainer, db: DB, tenant: Tenant) -> dict[str, Any]:
    """A new container, holding the given files."""
    return _wire(svc.create(db, tenant, body))


@router.get("")
def list_containers(db: DB, tenant: Tenant, p: Page,
                    name: Annotated[str | None, Query()] = None) -> Any:
    """The tenant's containers, newest first by default (optionally of one name)."""
    return page(db, ContainerRecord, svc.list_scope(tenant, name), p, _wire)


@router.get("/{container_id}")
def retrieve_container(container_id: str, db: DB, tenant: Tenant) -> dict[str, Any]:
    """One container."""
    return _wire(svc.get(db, tenant, container_id))


@router.delete("/{container_id}")
def delete_container(container_id: str, db: DB, tenant: Tenant) -> dict[str, Any]:
    """Delete a container and its file entries."""
    svc.delete(db, tenant, container_id)
    return {"id": container_id, "object": "container.deleted", "deleted": True}


def _chunks(upload: UploadFile, limit: int) -> Iterator[bytes]:
    """The uploaded part's bytes, a 413 past the limit."""
    seen = 0
    while chunk := upload.file.read(CHUNK):
        seen += len(chunk)
        if seen > limit:
            raise PayloadTooLarge(f"The file is too large: uploads are limited to {limit}"
                                  " bytes.", param="file")
        yield chunk


def _json_body(raw: bytes) -> CreateContainerFile:
    try:
        return CreateContainerFile.model_validate(json.loads(raw or b"{}"))
    except ValueError as exc:  # invalid JSON, or a ValidationError (a ValueError too)
        param = None
        if isinstance(exc, ValidationError) and exc.errors():
            param = ".".join(str(p) for p in exc.errors()[0]["loc"]) or None
        if param == "file_id" or param is None:
            raise InvalidRequest("Send a multipart/form-data body with a 'file', or JSON with"
                                 " a 'file_id'.", param=param or "file_id") from None
        raise InvalidRequest(f"Unrecognized request argument supplied: {param}", param=param,
                             code="unknown_parameter") from None


@router.post("/{container_id}/files", openapi_extra=FILE_BODY)
async def create_container_file(container_id: str, request: Request,
                                tenant: Tenant) -> dict[str, Any]:
    """Add a file: upload its bytes (multipart `file`) or name a file (JSON `file_id`)."""
    kind = request.headers.get("content-type", "")
    if not kind.startswith("multipart/form-data"):
        body = _json_body(await request.body())
        return await run_in_threadpool(_add, tenant, container_id, body.file_id)
    limit = get_settings().max_upload_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + CHUNK:
        raise PayloadTooLarge(f"The file is too large: uploads are limited to {limit} bytes.",
                              param="file")
    async with request.form(max_files=1, max_fields=4) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidRequest("Missing required parameter: 'file'.", param="file",
                                 code="missing_required_parameter")
        return await run_in_threadpool(_upload, tenant, container_id, upload, limit)


def _add(tenant: str, container_id: str, file_id: str) -> dict[str, Any]:
    with unit_of_work() as db:
        return mappers.container_file(svc.add_file(db, tenant, container_id, file_id))


def _upload(tenant: str, container_id: str, upload: UploadFile, limit: int) -> dict[str, Any]:
    with unit_of_work() as db:
        svc.get(db, tenant, container_id)  # 404 before the bytes are stored
        return mappers.container_file(svc.upload(
            db, tenant, container_id, upload.filename or "upload", _chunks(upload, limit)))


@router.get("/{container_id}/files")
def list_container_files(container_id: str, db: DB, tenant: Tenant, p: Page) -> Any:
    """The container's files, newest first by default."""
    container = svc.get(db, tenant, container_id)
    return page(db, ContainerFileRecord, svc.file_scope(container), p, mappers.container_file)


@router.get("/{container_id}/files/{file_id}")
def retrieve_container_file(container_id: str, file_id: str, db: DB,
                            tenant: Tenant) -> dict[str, Any]:
    """One file of a container."""
    return mappers.container_file(svc.get_file(db, tenant, container_id, file_id))


@router.get("/{container_id}/files/{file_id}/content", response_class=StreamingResponse)
def container_file_content(container_id: str, file_id: str, db: DB,
                           tenant: Tenant) -> StreamingResponse:
    """The bytes of a container's file."""
    row, size, chunks = svc.content(db, tenant, container_id, file_id)
    name = row.path.rsplit("/", 1)[-1]
    return StreamingResponse(chunks, media_type="application/octet-stream", headers={
        "Content-Length": str(size), "Content-Disposition": content_disposition(name)})


@router.delete("/{container_id}/files/{file_id}")
def delete_container_file(container_id: str, file_id: str, db: DB,
                          tenant: Tenant) -> dict[str, Any]:
    """Remove a file from a container."""
    svc.delete_file(db, tenant, container_id, file_id)
    return {"id": file_id, "object": "container.file.deleted", "deleted": True}
