"""Helpers every service uses: the tenant-owned lookup (re-exported) and request version checks."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from orchestrator.errors import InvalidRequest
from orchestrator.faces.assistants.schemas.common import Version
from orchestrator.records import find_owned, get_owned

__all__ = ["apply_metadata", "check_tools_version", "find_owned", "get_owned", "reject_field"]


def check_tools_version(version: Version, tools: list[Any] | None, param: str = "tools") -> None:
    """`retrieval` is v1's name and `file_search` v2's; say so instead of guessing."""
    for i, tool in enumerate(tools or []):
        kind = tool.type
        if version == "v2" and kind == "retrieval":
            raise InvalidRequest(
                "The 'retrieval' tool was renamed 'file_search' in assistants=v2.",
                param=f"{param}[{i}].type",
            )
        if version == "v1" and kind == "file_search":
            raise InvalidRequest(
                "The 'file_search' tool needs 'OpenAI-Beta: assistants=v2'; v1 calls it"
                " 'retrieval'.",
                param=f"{param}[{i}].type",
            )


def reject_field(body: Any, field: str, version: Version) -> None:
    """A field the other API version has: reject it as OpenAI rejects unknown arguments."""
    if field in body.model_fields_set and getattr(body, field) is not None:
        other = "v2" if version == "v1" else "v1"
        raise InvalidRequest(
            f"Unrecognized request argument supplied: {field} (it belongs to assistants={other})",
            param=field,
            code="unknown_parameter",
        )


def apply_metadata(session: Session, rec: Any, body: Any) -> Any:
    """The modify calls that change only `metadata`: write it when the request sent it."""
    if "metadata" in body.model_fields_set:
        rec.meta = body.metadata
        session.add(rec)
        session.flush()
    return rec
