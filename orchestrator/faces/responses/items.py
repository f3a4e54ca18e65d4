"""Input items to stored message content, and stored messages to Responses items."""

from __future__ import annotations

from typing import Any

from orchestrator.errors import InvalidRequest
from orchestrator.models import MessageRecord

ROLES = ("user", "assistant", "system", "developer")
# Item types of the hosted API this server does not take in input yet: a clear 400, not a guess.
NOT_YET = ("function_call", "function_call_output", "file_search_call", "code_interpreter_call",
           "reasoning", "web_search_call", "computer_call", "computer_call_output",
           "image_generation_call", "local_shell_call", "local_shell_call_output", "mcp_call",
           "mcp_list_tools", "mcp_approval_request", "mcp_approval_response", "custom_tool_call",
           "custom_tool_call_output", "compaction")


def _text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": {"value": value, "annotations": []}}


def _part(part: Any, role: str, where: str) -> dict[str, Any]:
    """One content part of an input message, in the stored (engine) format."""
    if not isinstance(part, dict):
        raise InvalidRequest("Each content part must be an object.", param=where)
    kind = part.get("type")
    if kind in ("input_text", "output_text"):
        text = part.get("text")
        if not isinstance(text, str):
            raise InvalidRequest("Missing required parameter: 'text'.", param=f"{where}.text")
        if (kind == "output_text") != (role == "assistant"):
            raise InvalidRequest(
                f"Invalid value: '{kind}'. Supported values are: "
                f"'{'output_text' if role == 'assistant' else 'input_text'}'"
                f"{', refusal' if role == 'assistant' else ', input_image'}.",
                param=f"{where}.type")
        return _text(text)
    if kind == "refusal" and role == "assistant":
        return {"type": "refusal", "refusal": str(part.get("refusal", ""))}
    if kind == "input_image" and role != "assistant":
        detail = part.get("detail") or "auto"
        if part.get("file_id"):
            return {"type": "image_file",
                    "image_file": {"file_id": str(part["file_id"]), "detail": detail}}
        if isinstance(part.get("image_url"), str):
            return {"type": "image_url",
                    "image_url": {"url": part["image_url"], "detail": detail}}
        raise InvalidRequest("An input_image needs an image_url or a file_id.", param=where)
    if kind == "input_file":
        raise InvalidRequest("input_file content is not supported by this server yet; attach"
                             " the file to a vector store and use file_search.",
                             param=f"{where}.type")
    raise InvalidRequest(f"Invalid value: '{kind}'. Supported values are: 'input_text',"
                         " 'input_image', 'output_text' and 'refusal'.", param=f"{where}.type")


def message_input(item: dict[str, Any], where: str) -> tuple[str, list[dict[str, Any]]]:
    """(role, stored content) of one input message item."""
    kind = item.get("type", "message")
    if kind in NOT_YET:
        raise InvalidRequest(f"Input items of type '{kind}' are not supported by this server"
                             " yet.", param=f"{where}.type")
    if kind != "message":
        raise InvalidRequest(f"Invalid value: '{kind}'.", param=f"{where}.type")
    role = item.get("role")
    if role not in ROLES:
        raise InvalidRequest(f"Invalid value: '{role}'. Supported values are: 'user',"
                             " 'assistant', 'system' and 'developer'.", param=f"{where}.role")
    content = item.get("content")
    if isinstance(content, str):
        return role, [_text(content)]
    if not isinstance(content, list):
        raise InvalidRequest("Missing required parameter: 'content'.", param=f"{where}.content")
    return role, [_part(p, role, f"{where}.content[{j}]") for j, p in enumerate(content)]


def _content(part: dict[str, Any], role: str) -> dict[str, Any]:
    kind = part.get("type")
    if kind == "text":
        text = part["text"]
        value = text["value"] if isinstance(text, dict) else str(text)
        if role == "assistant":
            return {"type": "output_text", "text": value, "logprobs": [],
                    "annotations": [_annotation(a) for a in text.get("annotations", [])]}
        return {"type": "input_text", "text": value}
    if kind == "image_file":
        return {"type": "input_image", "file_id": part["image_file"]["file_id"],
                "image_url": None, "detail": part["image_file"].get("detail", "auto")}
    if kind == "image_url":
        return {"type": "input_image", "image_url": part["image_url"]["url"], "file_id": None,
                "detail": part["image_url"].get("detail", "auto")}
    if kind == "refusal":
        return {"type": "refusal", "refusal": part.get("refusal", "")}
    return {"type": "input_text", "text": ""}


def _annotation(ann: dict[str, Any]) -> dict[str, Any]:
    if ann.get("type") == "file_citation":
        return {"type": "file_citation", "file_id": ann["file_citation"]["file_id"],
                "filename": ann.get("filename", ""), "index": ann.get("end_index", 0)}
    if ann.get("type") == "file_path":
        return {"type": "container_file_citation", "file_id": ann["file_path"]["file_id"],
                "container_id": "", "filename": "", "start_index": ann.get("start_index", 0),
                "end_index": ann.get("end_index", 0)}
    return ann


def item(msg: MessageRecord) -> dict[str, Any]:
    """A message as a Responses / Conversations `message` item."""
    status = msg.status if msg.status in ("in_progress", "completed", "incomplete") else (
        "completed")
    return {"type": "message", "id": msg.id, "status": status, "role": msg.role,
            "content": [_content(p, msg.role) for p in msg.content]}


def output_text(msg: MessageRecord) -> str:
    """The text of an answer (what `response.output_text.done` carries)."""
    return "".join(p["text"]["value"] for p in msg.content if p.get("type") == "text")
