"""Webhook endpoints from the Assistants face: request bodies in, webhooks.endpoints behind."""

from __future__ import annotations

from sqlmodel import Session

from orchestrator.faces.assistants.schemas.common import Version
from orchestrator.faces.assistants.schemas.webhook import (
    CreateWebhookEndpoint,
    ModifyWebhookEndpoint,
)
from orchestrator.models import WebhookEndpointRecord
from orchestrator.webhooks import endpoints


def create(session: Session, tenant: str, version: Version,
           body: CreateWebhookEndpoint) -> WebhookEndpointRecord:
    """POST /webhook_endpoints: payloads of this endpoint are rendered for `version`."""
    return endpoints.add(session, tenant, url=body.url, events=body.events,
                         description=body.description, metadata=body.metadata,
                         api_version=version)


def modify(session: Session, tenant: str, endpoint_id: str,
           body: ModifyWebhookEndpoint) -> WebhookEndpointRecord:
    """POST /webhook_endpoints/{id}: the fields the request sent."""
    return endpoints.change(session, tenant, endpoint_id,
                            {f: getattr(body, f) for f in body.model_fields_set})
