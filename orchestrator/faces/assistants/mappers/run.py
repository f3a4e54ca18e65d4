"""Run and run-step records to wire objects."""

from __future__ import annotations

from typing import Any

from orchestrator.engine.status import TERMINAL, RunStatus
from orchestrator.faces.assistants.mappers.tools import tools_for
from orchestrator.faces.assistants.schemas.common import Version
from orchestrator.faces.assistants.schemas.run import Run, RunStep, RunV1
from orchestrator.models import RunRecord, RunStepRecord

CODE = "code_interpreter"
FILE_SEARCH_CONTENT = "step_details.tool_calls[*].file_search.results[*].content"


def run(rec: RunRecord, version: Version = "v2") -> Run:
    """The run as the given API version shows it."""
    terminal = RunStatus(rec.status) in TERMINAL
    fields: dict[str, Any] = {
        "id": rec.id,
        "created_at": rec.created_at,
        "thread_id": rec.thread_id,
        "assistant_id": rec.assistant_id,
        "status": rec.status,
        "required_action": rec.required_action,
        "last_error": rec.last_error,
        "expires_at": None if terminal else rec.expires_at,
        "started_at": rec.started_at,
        "cancelled_at": rec.cancelled_at,
        "failed_at": rec.failed_at,
        "completed_at": rec.completed_at,
        "incomplete_details": rec.incomplete_details,
        "model": rec.model,
        "instructions": rec.instructions,
        "tools": tools_for(version, rec.tools),
        "metadata": rec.meta if rec.meta is not None else {},
        "usage": rec.usage if terminal else None,
        "temperature": rec.temperature,
        "top_p": rec.top_p,
        "max_prompt_tokens": rec.max_prompt_tokens,
        "max_completion_tokens": rec.max_completion_tokens,
        "truncation_strategy": rec.truncation_strategy or {"type": "auto",
                                                           "last_messages": None},
        "tool_choice": rec.tool_choice if rec.tool_choice is not None else "auto",
        "parallel_tool_calls": rec.parallel_tool_calls,
        "response_format": rec.response_format if rec.response_format is not None else "auto",
    }
    if version == "v1":
        return RunV1(file_ids=list(rec.file_ids), **fields)
    return Run(**fields)


def _tool_call_for(version: Version, call: dict[str, Any], include: frozenset[str]) -> dict[
        str, Any]:
    if call.get("type") == "file_search":
        if version == "v1":
            return tool_call_v1(call)
        if FILE_SEARCH_CONTENT not in include:
            fs = dict(call.get("file_search") or {})
            fs["results"] = [{k: v for k, v in r.items() if k != "content"}
                             for r in fs.get("results") or []]
            return {**call, "file_search": fs}
    return call


def tool_call_v1(call: dict[str, Any]) -> dict[str, Any]:
    """A v2 tool call (or call delta) as v1 shows it: a search is a `retrieval` call."""
    if call.get("type") != "file_search":
        return call
    keep: dict[str, Any] = {k: call[k] for k in ("index", "id") if k in call}
    return {**keep, "type": "retrieval", "retrieval": {}}


def step(rec: RunStepRecord, version: Version = "v2",
         include: frozenset[str] = frozenset()) -> RunStep:
    """The run step as the given API version shows it."""
    details = rec.step_details
    if details.get("type") == "tool_calls":
        details = {"type": "tool_calls", "tool_calls": [
            _tool_call_for(version, c, include) for c in details.get("tool_calls", [])]}
    return RunStep(
        id=rec.id, created_at=rec.created_at, assistant_id=rec.assistant_id,
        thread_id=rec.thread_id, run_id=rec.run_id, type=rec.type, status=rec.status,
        step_details=details, last_error=rec.last_error, expired_at=rec.expired_at,
        cancelled_at=rec.cancelled_at, failed_at=rec.failed_at, completed_at=rec.completed_at,
        metadata=rec.meta if rec.meta is not None else {}, usage=rec.usage,
    )


def outputs_delta(rec: RunStepRecord) -> dict[str, Any]:
    """A step delta with the outputs of its code_interpreter calls, once the sandbox answered.

    Every list entry carries its `index` (the SDKs merge deltas by it); `input` is "" so a
    handler printing `delta.code_interpreter.input` prints nothing more here.
    """
    calls = [{"index": i, "type": CODE, CODE: {"input": "", "outputs": [
        {"index": j, **out} for j, out in enumerate(call[CODE].get("outputs") or [])]}}
        for i, call in enumerate(rec.step_details.get("tool_calls", []))
        if call.get("type") == CODE]
    return {"id": rec.id, "object": "thread.run.step.delta",
            "delta": {"step_details": {"type": "tool_calls", "tool_calls": calls}}}
