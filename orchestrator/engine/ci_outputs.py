"""Code-interpreter outputs as the model reads them in later prompts."""

from __future__ import annotations

from typing import Any


def tool_text(call: dict[str, Any], details: dict[str, Any]) -> str:
    """A recorded code_interpreter call's outputs as the text of a `tool` message."""
    parts = []
    for out in call.get("code_interpreter", {}).get("outputs", []):
        if out.get("type") == "logs":
            parts.append(str(out.get("logs", "")))
        elif out.get("type") == "image":
            parts.append(f"[image file {out['image']['file_id']} shown to the user]")
    for path in details.get("sandbox_files", {}).get(call["id"], {}):
        parts.append(f"[file written: sandbox:{path}]")
    return "\n".join(parts) or "(no output)"
