"""Signing secrets: generation, rotation with a grace period, the tenant's run secret."""

from __future__ import annotations

import base64
import secrets
import time
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from orchestrator.config import get_settings
from orchestrator.models import WebhookRunSecretRecord

PREFIX = "whsec_"


def new_secret() -> str:
    """A Standard Webhooks secret: whsec_ + base64 of 32 random bytes."""
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def live(rec: Any) -> list[str]:
    """The secrets that sign now: the current one, and the previous one during its grace."""
    out = [rec.secret]
    if rec.previous_secret and (rec.previous_secret_expires_at or 0) > time.time():
        out.append(rec.previous_secret)
    return out


def rotate(rec: Any) -> None:
    """New current secret; the old one keeps signing for the grace period."""
    rec.previous_secret = rec.secret
    rec.previous_secret_expires_at = time.time() + get_settings().webhook_secret_grace_seconds
    rec.secret = new_secret()


def run_secret(session: Session, tenant: str) -> WebhookRunSecretRecord:
    """The tenant's run-webhook secret, created on first use (race-safe)."""
    rec = session.get(WebhookRunSecretRecord, tenant)
    if rec is not None:
        return rec
    rec = WebhookRunSecretRecord(tenant=tenant, secret=new_secret())
    try:
        with session.begin_nested():
            session.add(rec)
            session.flush()
    except IntegrityError:
        found = session.get(WebhookRunSecretRecord, tenant)
        assert found is not None
        return found
    return rec
