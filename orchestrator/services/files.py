"""Files: lookups used by other resources (upload and download live here too)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from orchestrator.errors import InvalidRequest
from orchestrator.models import FileRecord


def require_files(session: Session, tenant: str, file_ids: Sequence[str], param: str) -> None:
    """Every id names one of the tenant's files, else a 400 naming the first missing one."""
    if not file_ids:
        return
    found = set(
        session.exec(
            select(FileRecord.id).where(
                col(FileRecord.id).in_(list(file_ids)), FileRecord.tenant == tenant
            )
        ).all()
    )
    for i, file_id in enumerate(file_ids):
        if file_id not in found:
            raise InvalidRequest(f"No file found with id '{file_id}'.", param=f"{param}[{i}]")
