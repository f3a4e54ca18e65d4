"""Input items to stored messages (role, content), and stored messages to Responses items."""

from __future__ import annotations

import re
from typing import Any

from orchestrator.errors import InvalidRequest
from orchestrator.models import MessageRecord
from orchestrator.models.message import TOOL_CALL, TOOL_OUTPUT

ROLES = ("user", "assistant", "system", "developer")
CODE = "code_interpreter"  # the stored calls' type
MARKER = re.compile(r"【\d+:\d+†[^】]*】")  # the engine's source marker in an answer
# Item types of the hosted API this server does not take in input yet: a clear 400, not a guess.
NOT_YET = ("file_search_call", "code_interpreter_call",
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
    if kind == "input_file" and role != "assistant":
        if part.get("file_url") is not None:
            raise InvalidRequest("file_url is not supported by this server: upload the file"
                                 " and give its file_id, or send it as file_data.",
                                 param=f"{where}.file_url")
        if part.get("file_id"):
            return {"type": "input_file", "input_file": {"file_id": str(part["file_id"])}}
        if isinstance(part.get("file_data"), str) and isinstance(part.get("filename"), str):
            return {"type": "input_file", "input_file": {
                "file_data": part["file_data"], "filename": part["filename"]}}
        raise InvalidRequest("An input_file needs a file_id, or file_data with a filename.",
                             param=where)
    raise InvalidRequest(f"Invalid value: '{kind}'. Supported values are: 'input_text',"
                         " 'input_image', 'input_file', 'output_text' and 'refusal'.",
                         param=f"{where}.type")


def _string(item: dict[str, Any], name: str, where: str) -> str:
    value = item.get(name)
    if not isinstance(value, str):
        raise InvalidRequest(f"Missing required parameter: '{name}'.", param=f"{where}.{name}")
    return value


def _output(value: Any, where: str) -> str:
    """A function call's output: a string, or content parts whose texts are joined."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(str(p.get("text", "")) for p in value if isinstance(p, dict))
    raise InvalidRequest("Missing required parameter: 'output'.", param=f"{where}.output")


def message_input(item: dict[str, Any], where: str) -> tuple[str, list[dict[str, Any]]]:
    """(role, stored content) of one input item: a message, a function call or its output."""
    kind = item.get("type", "message")
    if kind == "function_call":
        return TOOL_CALL, [{"type": "function_call", "function_call": {
            "call_id": _string(item, "call_id", where), "name": _string(item, "name", where),
            "arguments": _string(item, "arguments", where)}}]
    if kind == "function_call_output":
        return TOOL_OUTPUT, [{"type": "function_call_output", "function_call_output": {
            "call_id": _string(item, "call_id", where),
            "output": _output(item.get("output"), where)}}]
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


def without_markers(value: str, annotations: list[dict[str, Any]], names: dict[str, str],
                    links: dict[str, Any] | None = None) -> tuple[str, list[dict[str, Any]]]:
    """An answer's text without its source markers (【0:1†name】), and its citations as the
    Responses API gives them: the file and the place in the text where the marker was; a
    sandbox link cites the container file `links` gives for the written file."""
    out, cited, at = [], [], 0
    for ann in sorted(annotations, key=lambda a: a.get("start_index", 0)):
        start, end = ann.get("start_index", 0), ann.get("end_index", 0)
        if start < at or end > len(value):
            continue
        out.append(MARKER.sub("", value[at:start]))
        at = end
        index = sum(len(x) for x in out)
        if ann.get("type") == "file_citation":
            fid = ann["file_citation"]["file_id"]
            cited.append({"type": "file_citation", "file_id": fid,
                          "filename": names.get(fid, ""), "index": index})
        elif ann.get("type") == "file_path":
            out.append(value[start:end])  # a sandbox link stays in the text
            index = sum(len(x) for x in out)
            fid = ann["file_path"]["file_id"]
            link = (links or {}).get(fid) or {
                "container_id": "", "file_id": fid,
                "filename": str(ann.get("text", "")).rsplit("/", 1)[-1]}
            cited.append({"type": "container_file_citation", **link,
                          "start_index": index - (end - start), "end_index": index})
    out.append(MARKER.sub("", value[at:]))
    return "".join(out), cited


def _content(part: dict[str, Any], role: str, names: dict[str, str],
             links: dict[str, Any] | None) -> dict[str, Any]:
    kind = part.get("type")
    if kind == "text":
        text = part["text"]
        value = text["value"] if isinstance(text, dict) else str(text)
        if role == "assistant":
            clean, cited = without_markers(value, text.get("annotations", []), names, links)
            return {"type": "output_text", "text": clean, "logprobs": [], "annotations": cited}
        return {"type": "input_text", "text": value}
    if kind == "image_file":
        return {"type": "input_image", "file_id": part["image_file"]["file_id"],
                "image_url": None, "detail": part["image_file"].get("detail", "auto")}
    if kind == "image_url":
        return {"type": "input_image", "image_url": part["image_url"]["url"], "file_id": None,
                "detail": part["image_url"].get("detail", "auto")}
    if kind == "refusal":
        return {"type": "refusal", "refusal": part.get("refusal", "")}
    if kind == "input_file":
        given = part["input_file"]
        return {"type": "input_file", "file_id": given.get("file_id"),
                "filename": given.get("filename")}
    return {"type": "input_text", "text": ""}


def search_call(call: dict[str, Any], query: str, results: bool) -> dict[str, Any]:
    """A recorded file_search call as a `file_search_call` item (results when included)."""
    hits = (call.get("file_search") or {}).get("results") or []
    return {"type": "file_search_call", "id": call["id"], "status": "completed",
            "queries": [query] if query else [],
            "results": [{"file_id": h["file_id"], "filename": h.get("file_name", ""),
                         "score": h.get("score"), "attributes": {},
                         "text": " ".join(p.get("text", "") for p in h.get("content") or [])}
                        for h in hits] if results else None}


def code_call(call: dict[str, Any], item_id: str, container_id: str, status: str,
              images: dict[str, str] | None) -> dict[str, Any]:
    """A recorded code_interpreter call as a `code_interpreter_call` item; its outputs (logs,
    images as URLs) only when included (`images` not None)."""
    outputs = None
    if images is not None:
        outputs = []
        for out in call[CODE].get("outputs", []):
            if out.get("type") == "logs":
                outputs.append({"type": "logs", "logs": out["logs"]})
            elif out.get("type") == "image" and out["image"]["file_id"] in images:
                outputs.append({"type": "image", "url": images[out["image"]["file_id"]]})
    return {"type": "code_interpreter_call", "id": item_id, "status": status,
            "code": call[CODE].get("input", ""), "container_id": container_id,
            "outputs": outputs}


def code_call_id(step_id: str, index: int) -> str:
    """The item id of a step's code_interpreter call (the same live and recorded)."""
    return f"ci_{step_id.split('_', 1)[-1]}_{index}"


def item(msg: MessageRecord, names: dict[str, str] | None = None,
         links: dict[str, Any] | None = None) -> dict[str, Any]:
    """A message as a Responses / Conversations item (a message, a call or its output);
    an answer's figures are its code calls' outputs, not parts of it."""
    if msg.role == TOOL_CALL:
        call = msg.content[0]["function_call"]
        return {"type": "function_call", "id": msg.id, "call_id": call["call_id"],
                "name": call["name"], "arguments": call["arguments"], "status": "completed"}
    if msg.role == TOOL_OUTPUT:
        out = msg.content[0]["function_call_output"]
        return {"type": "function_call_output", "id": msg.id, "call_id": out["call_id"],
                "output": out["output"], "status": "completed"}
    status = msg.status if msg.status in ("in_progress", "completed", "incomplete") else (
        "completed")
    return {"type": "message", "id": msg.id, "status": status, "role": msg.role,
            "content": [_content(p, msg.role, names or {}, links) for p in msg.content
                        if msg.role != "assistant" or p.get("type") != "image_file"]}


def output_text(msg: MessageRecord) -> str:
    """The text of an answer, without source markers (`response.output_text.done`)."""
    return "".join(p["text"] for p in item(msg)["content"] if p["type"] == "output_text")
