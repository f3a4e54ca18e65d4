"""API keys to tenants: each configured key is its own tenant, stored only as a hash."""

from __future__ import annotations

import hashlib

from orchestrator.config import get_settings
from orchestrator.shared import process_wide


def tenant_of(key: str) -> str:
    """The stable tenant id of an API key (never the key itself)."""
    return "ten_" + hashlib.sha256(key.encode()).hexdigest()[:32]


@process_wide
def known_tenants() -> dict[str, str]:
    """Map of sha256(key) -> tenant for every configured key."""
    return {hashlib.sha256(k.encode()).hexdigest(): tenant_of(k) for k in get_settings().api_keys}


def resolve(key: str) -> str | None:
    """The tenant of a presented key, or None if the key is unknown."""
    return known_tenants().get(hashlib.sha256(key.encode()).hexdigest())
