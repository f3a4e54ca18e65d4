"""Tenant-owned records by id: the one lookup every service shares, 404 when missing."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, TypeVar, cast

from sqlalchemy import bindparam
from sqlmodel import Session, select

from orchestrator.errors import not_found

M = TypeVar("M")


@lru_cache(maxsize=64)
def _owned(model: Any) -> Any:
    """SELECT a tenant's row by id, built once per model: compiled-cache hits, no re-keying."""
    return select(model).where(model.id == bindparam("object_id"),
                               model.tenant == bindparam("tenant"))


def find_owned(session: Session, model: type[M], tenant: str, object_id: str) -> M | None:
    """The tenant's object with this id, or None."""
    return cast("M | None", session.exec(
        _owned(cast(Any, model)), params={"object_id": object_id, "tenant": tenant}).first())


def get_owned(session: Session, model: type[M], tenant: str, object_id: str, kind: str,
              param: str | None = None) -> M:
    """The tenant's object with this id, or OpenAI's 404."""
    row = find_owned(session, model, tenant, object_id)
    if row is None:
        raise not_found(kind, object_id, param)
    return row
