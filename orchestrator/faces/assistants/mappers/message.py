"""Message records to wire objects, and the v1 <-> v2 file conversion.

Storage keeps v2 `attachments` ([{"file_id", "tools": [{"type": ...}]}]). A v1 `file_ids` list
is stored as attachments offering each file to both code_interpreter and file_search, because a
v1 message file was available to whichever of code_interpreter / retrieval the run had enabled.
A v2 client therefore sees a v1 message's files as attachments, and a v1 client sees the
attachment file ids of a v2 message (in order, without duplicates) as `file_ids`.
"""

from __future__ import annotations

from typing import Any

from orchestrator.faces.assistants.schemas.common import Version
from orchestrator.faces.assistants.schemas.message import Message, MessageFile, MessageV1
from orchestrator.models import MessageRecord
from orchestrator.models.message import attachment_file_ids

V1_FILE_TOOLS: list[dict[str, Any]] = [{"type": "code_interpreter"}, {"type": "file_search"}]


def attachments_from_v1(file_ids: list[str]) -> list[dict[str, Any]]:
    """Stored attachments for a v1 request's `file_ids` (duplicates dropped)."""
    return [{"file_id": f, "tools": [dict(t) for t in V1_FILE_TOOLS]}
            for f in dict.fromkeys(file_ids)]


def file_ids_for_v1(attachments: list[dict[str, Any]] | None) -> list[str]:
    """The v1 `file_ids` of stored attachments (in order, without duplicates)."""
    return attachment_file_ids(attachments)


def _annotation_v1(ann: dict[str, Any]) -> dict[str, Any]:
    if ann.get("type") == "file_citation" and "quote" not in ann.get("file_citation", {}):
        return {**ann, "file_citation": {**ann.get("file_citation", {}), "quote": ""}}
    return ann


def content_for_v1(content: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """v1 knows only text and image_file parts: refusals become text, image URLs are left out."""
    out: list[dict[str, Any]] = []
    for part in content:
        kind = part.get("type")
        if kind == "text":
            text = part["text"]
            anns = [_annotation_v1(a) for a in text.get("annotations", [])]
            out.append({"type": "text", "text": {**text, "annotations": anns}})
        elif kind == "refusal":
            out.append({"type": "text", "text": {"value": part.get("refusal", ""),
                                                 "annotations": []}})
        elif kind == "image_file":
            out.append(part)
    return out


def message(rec: MessageRecord, version: Version) -> Message | MessageV1:
    """The message as the given API version shows it."""
    common: dict[str, Any] = {
        "id": rec.id,
        "created_at": rec.created_at,
        "thread_id": rec.thread_id,
        "status": rec.status,
        "incomplete_details": rec.incomplete_details,
        "completed_at": rec.completed_at,
        "incomplete_at": rec.incomplete_at,
        "role": rec.role,
        "assistant_id": rec.assistant_id,
        "run_id": rec.run_id,
        "metadata": rec.meta if rec.meta is not None else {},
    }
    content = [_shown(p) for p in rec.content]
    if version == "v1":
        return MessageV1(content=content_for_v1(content),
                         file_ids=file_ids_for_v1(rec.attachments), **common)
    return Message(content=content, attachments=list(rec.attachments or []), **common)


def _shown(part: dict[str, Any]) -> dict[str, Any]:
    """A part this API has no type for (a file given to a response) as a text naming it."""
    if part.get("type") != "input_file":
        return part
    name = part["input_file"].get("filename") or part["input_file"].get("file_id", "")
    return {"type": "text", "text": {"value": f"[file {name}]", "annotations": []}}


def message_file(rec: MessageRecord, file_id: str) -> MessageFile:
    """A v1 message file object; it shares the message's creation time."""
    return MessageFile(id=file_id, created_at=rec.created_at, message_id=rec.id)


def annotations_delta(rec: MessageRecord) -> dict[str, Any] | None:
    """The closing `thread.message.delta` of a streamed answer: its text part's annotations
    (numbered by `index`, as deltas merge lists), or None when it has none.

    The text was streamed before its citations and file links could be resolved; this delta
    carries exactly the annotations of the recorded message, with an empty `value`.
    """
    for i, part in enumerate(rec.content):
        anns = part.get("text", {}).get("annotations") if part.get("type") == "text" else None
        if anns:
            return {"id": rec.id, "object": "thread.message.delta", "delta": {"content": [
                {"index": i, "type": "text", "text": {
                    "value": "", "annotations": [{"index": j, **a} for j, a in enumerate(anns)]}}]}}
    return None
