"""Version-specific rendering of tools and tool resources."""

from __future__ import annotations

from typing import Any

from orchestrator.faces.assistants.schemas.common import Version


def tools_for(version: Version, tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """v1 calls the search tool `retrieval`, v2 `file_search`; show each its own name."""
    out = []
    for tool in tools:
        kind = tool.get("type")
        if version == "v1" and kind == "file_search":
            out.append({"type": "retrieval"})
        elif version == "v2" and kind == "retrieval":
            out.append({"type": "file_search"})
        else:
            out.append(tool)
    return out


def resources_for_v2(
    stored: dict[str, Any] | None, v1_file_ids: list[str]
) -> dict[str, Any] | None:
    """v2 tool_resources; files attached through v1 show as code-interpreter files."""
    if stored is not None:
        return stored
    if v1_file_ids:
        return {"code_interpreter": {"file_ids": list(v1_file_ids)}}
    return {}


def file_ids_for_v1(stored: dict[str, Any] | None, v1_file_ids: list[str]) -> list[str]:
    """v1 file_ids; files given through v2 tool_resources.code_interpreter show up too."""
    if v1_file_ids:
        return list(v1_file_ids)
    ci = (stored or {}).get("code_interpreter") or {}
    return list(ci.get("file_ids") or [])
