"""Run, thread and container records as Response, Conversation and Container objects."""

from __future__ import annotations

from typing import Any

from orchestrator.models import ContainerFileRecord, ContainerRecord, RunRecord, ThreadRecord

STATUS = {
    "queued": "queued", "in_progress": "in_progress", "requires_action": "completed",
    "cancelling": "cancelled",  # its only way out is cancelled: the answer is already certain
    "cancelled": "cancelled", "completed": "completed", "incomplete": "incomplete",
    "failed": "failed", "expired": "failed",
}
INCOMPLETE = {"max_completion_tokens": "max_output_tokens",
              "max_prompt_tokens": "max_output_tokens"}


def status(run: RunRecord) -> str:
    """The run's status as a Response status."""
    return STATUS[run.status]


def _usage(usage: dict[str, int] | None) -> dict[str, Any] | None:
    if not usage:
        return None
    prompt, completion = usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)
    return {"input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": completion, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": prompt + completion}


def _error(run: RunRecord) -> dict[str, Any] | None:
    if run.status == "expired":
        return {"code": "server_error", "message": "The response expired before it completed."}
    if run.status != "failed":
        return None
    err = run.last_error or {}
    return {"code": err.get("code") or "server_error",
            "message": err.get("message") or "The response failed."}


def response(run: RunRecord, output: list[dict[str, Any]]) -> dict[str, Any]:
    """The Response object of a run of this face, with its output items."""
    fd = run.face_data or {}
    details = run.incomplete_details
    conversation = fd.get("conversation")
    return {
        "id": run.id, "object": "response", "created_at": run.created_at,
        "status": status(run), "background": bool(fd.get("background")),
        "completed_at": run.completed_at, "error": _error(run),
        "incomplete_details": {"reason": INCOMPLETE.get(details.get("reason", ""),
                                                        "max_output_tokens")}
        if details else None,
        "instructions": run.instructions or None,
        "max_output_tokens": run.max_completion_tokens,
        "max_tool_calls": fd.get("max_tool_calls"), "model": run.model,
        "output": output, "parallel_tool_calls": run.parallel_tool_calls,
        "previous_response_id": fd.get("previous_response_id"),
        "conversation": {"id": conversation} if conversation else None,
        "reasoning": {"effort": None, "summary": None}, "service_tier": "default",
        "store": fd.get("store", True),
        "temperature": 1.0 if run.temperature is None else run.temperature,
        "top_p": 1.0 if run.top_p is None else run.top_p, "top_logprobs": 0,
        "text": {"format": (fd.get("text") or {}).get("format") or {"type": "text"},
                 "verbosity": "medium"},
        "tool_choice": fd.get("tool_choice") or "auto", "tools": fd.get("tools", []),
        "truncation": fd.get("truncation") or "disabled", "usage": _usage(run.usage),
        "user": fd.get("user"), "safety_identifier": fd.get("safety_identifier"),
        "prompt_cache_key": fd.get("prompt_cache_key"), "metadata": run.meta or {},
    }


def conversation(thread: ThreadRecord) -> dict[str, Any]:
    """A thread as a Conversation object (any thread is one)."""
    return {"id": thread.id, "object": "conversation", "created_at": thread.created_at,
            "metadata": thread.meta or {}}


def container(rec: ContainerRecord, expired: bool) -> dict[str, Any]:
    """A container record as a Container object."""
    return {"id": rec.id, "object": "container", "name": rec.name,
            "created_at": rec.created_at, "status": "expired" if expired else "running",
            "last_active_at": rec.last_active_at,
            "expires_after": {"anchor": "last_active_at", "minutes": rec.expires_minutes},
            "memory_limit": rec.memory_limit, "network_policy": {"type": "disabled"}}


def container_file(rec: ContainerFileRecord) -> dict[str, Any]:
    """A container's file as a container.file object."""
    return {"id": rec.id, "object": "container.file", "container_id": rec.container_id,
            "created_at": rec.created_at, "bytes": rec.bytes, "path": rec.path,
            "source": rec.source}
