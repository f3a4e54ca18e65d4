"""Request dependencies every face shares: tenant from the bearer key, DB session, list params."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal

from fastapi import Depends, Header, Query
from sqlmodel import Session

from orchestrator import tenancy
from orchestrator.config import get_settings
from orchestrator.db import unit_of_work
from orchestrator.errors import Unauthorized
from orchestrator.pagination import PageParams, check_limit


async def current_tenant(authorization: Annotated[str | None, Header()] = None) -> str:
    """The tenant of the presented bearer key; 401 when missing or unknown."""
    if not get_settings().api_keys:
        raise Unauthorized(
            "This server has no API keys configured (set ORCH_API_KEYS).",
            code="invalid_api_key",
        )
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthorized(
            "You didn't provide an API key. You need to provide your API key in an Authorization"
            " header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        )
    key = authorization[7:].strip()
    tenant = tenancy.resolve(key)
    if tenant is None:
        shown = key[:3] + "*" * 4 + key[-4:] if len(key) > 8 else "*" * len(key)
        raise Unauthorized(f"Incorrect API key provided: {shown}.", code="invalid_api_key")
    return tenant


def db_session() -> Iterator[Session]:
    """A unit of work per request: committed when the handler returns."""
    with unit_of_work() as session:
        yield session


async def page_params(
    limit: Annotated[int, Query()] = 20,
    order: Annotated[Literal["asc", "desc"], Query()] = "desc",
    after: Annotated[str | None, Query()] = None,
    before: Annotated[str | None, Query()] = None,
) -> PageParams:
    """Standard list parameters (limit 1-100, default 20, newest first)."""
    return PageParams(limit=check_limit(limit), order=order, after=after, before=before)


Tenant = Annotated[str, Depends(current_tenant)]
DB = Annotated[Session, Depends(db_session, scope="function")]
Page = Annotated[PageParams, Depends(page_params)]
