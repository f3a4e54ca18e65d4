"""/v1/webhook_endpoints (our extension): endpoints, their delivery log, the run secret."""

from __future__ import annotations

from fastapi import APIRouter

from orchestrator.api.deps import DB, Page, Tenant
from orchestrator.api.unit_route import UnitOfWorkRoute
from orchestrator.faces.assistants.deps import ApiVersion
from orchestrator.faces.assistants.mappers import webhook as to_wire
from orchestrator.faces.assistants.schemas.common import Deleted
from orchestrator.faces.assistants.schemas.webhook import (
    CreateWebhookEndpoint,
    ModifyWebhookEndpoint,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEndpointWithSecret,
    WebhookRunSecret,
)
from orchestrator.faces.assistants.services import webhook_endpoints as bodies
from orchestrator.models import WebhookDeliveryRecord, WebhookEndpointRecord
from orchestrator.pagination import ListPage, page
from orchestrator.webhooks import endpoints as svc
from orchestrator.webhooks.secrets import run_secret

router = APIRouter(prefix="/webhook_endpoints", tags=["webhooks"], route_class=UnitOfWorkRoute)


@router.post("", response_model=WebhookEndpointWithSecret)
def create_endpoint(body: CreateWebhookEndpoint, db: DB, tenant: Tenant,
                    v: ApiVersion) -> WebhookEndpointWithSecret:
    """Register a receiver; the answer carries its signing secret (shown once)."""
    return to_wire.endpoint_with_secret(bodies.create(db, tenant, v, body))


@router.get("", response_model=ListPage[WebhookEndpoint])
def list_endpoints(db: DB, tenant: Tenant, p: Page) -> ListPage[WebhookEndpoint]:
    """The tenant's endpoints."""
    return page(db, WebhookEndpointRecord, [WebhookEndpointRecord.tenant == tenant], p,
                to_wire.endpoint)


# Before /{endpoint_id}, which would take "run_secret" for an id.
@router.get("/run_secret", response_model=WebhookRunSecret)
def get_run_secret(db: DB, tenant: Tenant) -> WebhookRunSecret:
    """The secret that signs deliveries to runs' `webhook_url` (created on first read)."""
    return to_wire.run_secret(run_secret(db, tenant))


@router.post("/run_secret/rotate", response_model=WebhookRunSecret)
def rotate_run_secret(db: DB, tenant: Tenant) -> WebhookRunSecret:
    """A new run secret; the old one keeps signing for the grace period."""
    return to_wire.run_secret(svc.rotate_run_secret(db, tenant))


def _deliveries(db: DB, tenant: str, endpoint_id: str | None,
                p: Page) -> ListPage[WebhookDelivery]:
    listed = page(db, WebhookDeliveryRecord, svc.scope(tenant, endpoint_id), p, lambda r: r)
    log = svc.attempts_of(db, [r.id for r in listed.data])
    return ListPage[WebhookDelivery](
        data=[to_wire.delivery(r, log[r.id]) for r in listed.data], first_id=listed.first_id,
        last_id=listed.last_id, has_more=listed.has_more)


def _one(db: DB, tenant: str, endpoint_id: str | None, delivery_id: str) -> WebhookDelivery:
    rec = svc.get_delivery(db, tenant, endpoint_id, delivery_id)
    return to_wire.delivery(rec, svc.attempts_of(db, [rec.id])[rec.id])


def _replay(db: DB, tenant: str, endpoint_id: str | None, delivery_id: str) -> WebhookDelivery:
    rec = svc.replay(db, tenant, endpoint_id, delivery_id)
    return to_wire.delivery(rec, svc.attempts_of(db, [rec.id])[rec.id])


@router.get("/run_deliveries", response_model=ListPage[WebhookDelivery])
def list_run_deliveries(db: DB, tenant: Tenant, p: Page) -> ListPage[WebhookDelivery]:
    """Deliveries to runs' `webhook_url`, newest first, each with its attempts."""
    return _deliveries(db, tenant, None, p)


@router.get("/run_deliveries/{delivery_id}", response_model=WebhookDelivery)
def retrieve_run_delivery(delivery_id: str, db: DB, tenant: Tenant) -> WebhookDelivery:
    """One delivery to a run's `webhook_url`."""
    return _one(db, tenant, None, delivery_id)


@router.post("/run_deliveries/{delivery_id}/replay", response_model=WebhookDelivery)
def replay_run_delivery(delivery_id: str, db: DB, tenant: Tenant) -> WebhookDelivery:
    """Send a finished delivery to a run's `webhook_url` again."""
    return _replay(db, tenant, None, delivery_id)


@router.get("/{endpoint_id}", response_model=WebhookEndpoint)
def retrieve_endpoint(endpoint_id: str, db: DB, tenant: Tenant) -> WebhookEndpoint:
    """One endpoint (without its secret)."""
    return to_wire.endpoint(svc.get(db, tenant, endpoint_id))


@router.post("/{endpoint_id}", response_model=WebhookEndpoint)
def modify_endpoint(endpoint_id: str, body: ModifyWebhookEndpoint, db: DB,
                    tenant: Tenant) -> WebhookEndpoint:
    """Change url, events, disabled, description or metadata."""
    return to_wire.endpoint(bodies.modify(db, tenant, endpoint_id, body))


@router.delete("/{endpoint_id}", response_model=Deleted)
def delete_endpoint(endpoint_id: str, db: DB, tenant: Tenant) -> Deleted:
    """Delete an endpoint and its delivery log."""
    return Deleted(id=svc.remove(db, tenant, endpoint_id), object="webhook_endpoint.deleted")


@router.post("/{endpoint_id}/rotate_secret", response_model=WebhookEndpointWithSecret)
def rotate_endpoint_secret(endpoint_id: str, db: DB,
                           tenant: Tenant) -> WebhookEndpointWithSecret:
    """A new secret (shown once); the old one adds a second signature for the grace period."""
    return to_wire.endpoint_with_secret(svc.rotate_secret(db, tenant, endpoint_id))


@router.get("/{endpoint_id}/deliveries", response_model=ListPage[WebhookDelivery])
def list_deliveries(endpoint_id: str, db: DB, tenant: Tenant,
                    p: Page) -> ListPage[WebhookDelivery]:
    """The endpoint's delivery log, newest first, each with its attempts."""
    svc.get(db, tenant, endpoint_id)
    return _deliveries(db, tenant, endpoint_id, p)


@router.get("/{endpoint_id}/deliveries/{delivery_id}", response_model=WebhookDelivery)
def retrieve_delivery(endpoint_id: str, delivery_id: str, db: DB,
                      tenant: Tenant) -> WebhookDelivery:
    """One delivery with its attempts."""
    return _one(db, tenant, endpoint_id, delivery_id)


@router.post("/{endpoint_id}/deliveries/{delivery_id}/replay", response_model=WebhookDelivery)
def replay_delivery(endpoint_id: str, delivery_id: str, db: DB,
                    tenant: Tenant) -> WebhookDelivery:
    """Send a finished delivery again, same webhook-id, with a fresh round of retries."""
    return _replay(db, tenant, endpoint_id, delivery_id)
