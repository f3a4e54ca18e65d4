"""Inspector sign-in: an API key is exchanged for a signed, expiring, HttpOnly session cookie.

The cookie never holds the key. It holds `tenant.expires.signature`, where the signature is an
HMAC of `tenant.expires` under a secret derived from that tenant's configured API key. Checking
it needs the key on the server, so removing a key from ORCH_API_KEYS ends its sessions too, and
several API processes accept each other's cookies without shared state.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from orchestrator import tenancy
from orchestrator.config import get_settings
from orchestrator.errors import APIError

COOKIE = "orch_inspector"
COOKIE_PATH = "/inspector"


class SignInRequired(Exception):
    """The request carries no valid inspector session."""


class CrossSiteForm(APIError):
    """403: a sign-in or sign-out form posted from another site."""

    status_code = 403


def _secret(key: str) -> bytes:
    return hashlib.sha256(b"orch-inspector-session\0" + key.encode()).digest()


def _sign(key: str, payload: str) -> str:
    return hmac.new(_secret(key), payload.encode(), hashlib.sha256).hexdigest()


def _key_of(tenant: str) -> str | None:
    for key in get_settings().api_keys:
        if hmac.compare_digest(tenancy.tenant_of(key), tenant):
            return key
    return None


def session_for(key: str) -> str | None:
    """The cookie value for a presented API key, or None when the key is unknown."""
    tenant = tenancy.resolve(key)
    if tenant is None:
        return None
    expires = int(time.time()) + get_settings().inspector_session_seconds
    payload = f"{tenant}.{expires}"
    return f"{payload}.{_sign(key, payload)}"


def tenant_of_session(value: str | None) -> str | None:
    """The tenant a cookie value signs for, or None if it is absent, forged or expired."""
    if not value or value.count(".") != 2:
        return None
    tenant, expires, signature = value.split(".")
    if not expires.isdigit() or int(expires) < time.time():
        return None
    key = _key_of(tenant)
    if key is None:
        return None
    if not hmac.compare_digest(_sign(key, f"{tenant}.{expires}"), signature):
        return None
    return tenant


def cookie_values(header: str) -> list[str]:
    """Every value of our cookie in a Cookie header (a stale one may sit on another path)."""
    values = []
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE and value:
            values.append(value.strip('"'))
    return values


def safe_next(target: str | None) -> str:
    """Where to go after signing in: only a path inside the inspector."""
    if target and target.startswith("/inspector") and not target.startswith("//") \
            and "\\" not in target:
        return target
    return "/inspector"
