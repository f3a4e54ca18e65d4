"""/v1/batches: create, retrieve, list, cancel (batches of runs)."""

from __future__ import annotations

from fastapi import APIRouter

from orchestrator.api.deps import DB, Page, Tenant
from orchestrator.api.unit_route import UnitOfWorkRoute
from orchestrator.db import unit_of_work
from orchestrator.faces.assistants.mappers.batch import batch as to_wire
from orchestrator.faces.assistants.schemas.batch import Batch, CreateBatch
from orchestrator.faces.assistants.services import batches as svc
from orchestrator.models import BatchRecord
from orchestrator.pagination import ListPage, page

router = APIRouter(prefix="/batches", tags=["batches"], route_class=UnitOfWorkRoute)


@router.post("", response_model=Batch)
def create_batch(body: CreateBatch, tenant: Tenant) -> Batch:
    """Validate the input file and queue its lines as runs (fed under admission control)."""
    with unit_of_work() as db:
        rec = svc.create(db, tenant, body)
        return to_wire(db, rec)


@router.get("", response_model=ListPage[Batch])
def list_batches(db: DB, tenant: Tenant, p: Page) -> ListPage[Batch]:
    """The tenant's batches, newest first."""
    return page(db, BatchRecord, [BatchRecord.tenant == tenant], p, lambda r: to_wire(db, r))


@router.get("/{batch_id}", response_model=Batch)
def retrieve_batch(batch_id: str, db: DB, tenant: Tenant) -> Batch:
    """One batch, with live request_counts."""
    return to_wire(db, svc.get(db, tenant, batch_id))


@router.post("/{batch_id}/cancel", response_model=Batch)
def cancel_batch(batch_id: str, tenant: Tenant) -> Batch:
    """Stop feeding; the batch's unfinished runs are cancelled, then it is `cancelled`."""
    with unit_of_work() as db:
        rec = svc.cancel(db, tenant, batch_id)
        return to_wire(db, rec)
