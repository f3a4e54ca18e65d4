"""Runs in the Assistants shapes: validate create / cancel / submit, then ask the engine."""

from __future__ import annotations

import time
from typing import Any

from sqlmodel import Session, select

from orchestrator.config import get_settings
from orchestrator.engine import runs as engine_runs
from orchestrator.engine.status import ACTIVE, RunStatus, StepStatus
from orchestrator.errors import InvalidRequest, not_found
from orchestrator.faces.assistants.listeners import FACE
from orchestrator.faces.assistants.mappers import run as run_wire
from orchestrator.faces.assistants.mappers.thread import thread as thread_wire
from orchestrator.faces.assistants.schemas.common import Version
from orchestrator.faces.assistants.schemas.run import (
    CreateRun,
    CreateThreadAndRun,
    ModifyRun,
    RunOptions,
    SubmitToolOutputs,
)
from orchestrator.faces.assistants.schemas.thread import CreateThread
from orchestrator.faces.assistants.services import messages, store_links, threads
from orchestrator.faces.assistants.services.assistants import check_tool_resources
from orchestrator.faces.assistants.services.common import (
    apply_metadata,
    check_tools_version,
    find_owned,
    get_owned,
    reject_field,
)
from orchestrator.faces.assistants.services.files import require_files
from orchestrator.ids import new_id
from orchestrator.models import AssistantRecord, RunRecord, RunStepRecord, ThreadRecord
from orchestrator.models.base import now
from orchestrator.streaming.outbox import emit
from orchestrator.webhooks import outbox as webhook_outbox


def get(session: Session, tenant: str, thread_id: str, run_id: str) -> RunRecord:
    """The tenant's run in that thread, or 404 (for the thread first, then the run).

    One lookup when the run is there: runs go with their thread (ON DELETE CASCADE), so a run
    of this thread shows the thread exists; a miss looks the thread up for the right 404.
    """
    run = find_owned(session, RunRecord, tenant, run_id)
    if run is not None and run.thread_id == thread_id and run.face == FACE:
        return run  # (a response is not a run here)
    get_owned(session, ThreadRecord, tenant, thread_id, "thread")
    raise not_found("run", run_id)


def get_thread(session: Session, tenant: str, thread_id: str) -> ThreadRecord:
    """The tenant's thread, or 404."""
    return get_owned(session, ThreadRecord, tenant, thread_id, "thread")


def get_step(session: Session, tenant: str, thread_id: str, run_id: str,
             step_id: str) -> RunStepRecord:
    """A step of the tenant's run, or 404."""
    get(session, tenant, thread_id, run_id)
    step = session.exec(select(RunStepRecord).where(
        RunStepRecord.id == step_id, RunStepRecord.run_id == run_id)).first()
    if step is None:
        raise not_found("run step", step_id)
    return step


def _dump(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        return [_dump(v) for v in value]
    return value.model_dump(exclude_none=True, by_alias=True)


def _assistant(session: Session, tenant: str, assistant_id: str) -> AssistantRecord:
    """The run's assistant, read once per transaction (a batch chunk names it on every line)."""
    seen: dict[tuple[str, str], AssistantRecord] = session.info.setdefault("assistants", {})
    asst = seen.get((tenant, assistant_id))
    if asst is None:
        asst = seen[tenant, assistant_id] = get_owned(
            session, AssistantRecord, tenant, assistant_id, "assistant", param="assistant_id")
    return asst


def new_run(session: Session, tenant: str, version: Version, thread: ThreadRecord,
            body: RunOptions, additional_instructions: str | None = None,
            run_id: str | None = None) -> RunRecord:
    """Validate the options against the assistant and record a queued run."""
    webhook_outbox.check_run_url(body.webhook_url)  # resolves DNS: before any write
    asst = _assistant(session, tenant, body.assistant_id)
    check_tools_version(version, body.tools)
    if version == "v2":
        reject_field(body, "file_ids", version)
    else:
        require_files(session, tenant, body.file_ids or [], "file_ids")
    instructions = body.instructions if body.instructions is not None else (
        asst.instructions or "")
    if additional_instructions:
        instructions = f"{instructions}\n\n{additional_instructions}" if instructions else (
            additional_instructions)
    created = now()
    tools = _dump(body.tools) if body.tools is not None else list(asst.tools)
    run = RunRecord(
        id=run_id or new_id("run"), tenant=tenant, created_at=created, thread_id=thread.id,
        assistant_id=asst.id, status=RunStatus.QUEUED.value, model=body.model or asst.model,
        instructions=instructions, tools=tools,
        file_ids=body.file_ids if body.file_ids is not None else [
            link["id"] for link in asst.file_links],
        meta=body.metadata,
        temperature=body.temperature if body.temperature is not None else asst.temperature,
        top_p=body.top_p if body.top_p is not None else asst.top_p,
        max_prompt_tokens=body.max_prompt_tokens,
        max_completion_tokens=body.max_completion_tokens,
        truncation_strategy=_dump(body.truncation_strategy),
        tool_choice=_dump(body.tool_choice),
        parallel_tool_calls=True if body.parallel_tool_calls is None else body.parallel_tool_calls,
        response_format=_dump(body.response_format) if body.response_format is not None
        else asst.response_format,
        reasoning_effort=body.reasoning_effort or asst.reasoning_effort,
        expires_at=created + get_settings().run_expiry_seconds,
        stream=bool(body.stream),
        # Fresh, not 0: the sweeper re-sends queued runs only once they are stale, and a
        # feeder may still be sending this chunk's messages after its commit.
        updated_at=time.time(),
    )
    engine_runs.insert_queued(session, run)
    webhook_outbox.attach_run_url(session, run, body.webhook_url, version)
    engine_runs.announce(session, run)
    return run


def create(session: Session, tenant: str, version: Version, thread_id: str,
           body: CreateRun) -> RunRecord:
    """POST /threads/{id}/runs: add additional_messages, then queue the run."""
    thread = get_owned(session, ThreadRecord, tenant, thread_id, "thread")
    for i, message in enumerate(body.additional_messages or []):
        msg = messages.build(session, tenant, version, thread_id, message,
                             f"additional_messages[{i}].")
        session.add(msg)
        session.flush()
        store_links.after_message(session, version, thread, msg)
    return new_run(session, tenant, version, thread, body, body.additional_instructions)


def create_thread_and_run(session: Session, tenant: str, version: Version,
                          body: CreateThreadAndRun) -> tuple[ThreadRecord, RunRecord]:
    """POST /threads/runs: a new thread (with its messages), then a queued run on it.

    Top-level `tool_resources` join the thread's own (threads.union_resources), so this run
    and the thread's later runs see both.
    """
    if version == "v1":
        reject_field(body, "tool_resources", version)
    top = check_tool_resources(session, tenant, body.tool_resources, "tool_resources")
    thread = threads.create(session, tenant, version, body.thread or CreateThread(), "thread.",
                            also=top)
    run_id = new_id("run")
    if body.stream:  # the stream opens with the new thread
        emit(session, tenant, run_id, "thread.created",
             thread_wire(thread, "v2").model_dump(mode="json"))
    run = new_run(session, tenant, version, thread, body, run_id=run_id)
    return thread, run


def modify(session: Session, tenant: str, thread_id: str, run_id: str,
           body: ModifyRun) -> RunRecord:
    """Only metadata changes; no status write, so no CAS needed beyond the row itself."""
    return apply_metadata(session, get(session, tenant, thread_id, run_id), body)


def cancel(session: Session, tenant: str, thread_id: str, run_id: str) -> RunRecord:
    """Queued / in_progress / requires_action -> cancelling; a worker finishes the cancel."""
    run = get(session, tenant, thread_id, run_id)
    status = RunStatus(run.status)
    if status not in (RunStatus.QUEUED, RunStatus.IN_PROGRESS, RunStatus.REQUIRES_ACTION):
        raise InvalidRequest(f"Cannot cancel run with status '{status.value}'.")
    if not engine_runs.request_cancel(session, run):  # it changed: answer with what it is now
        session.refresh(run)
        return cancel(session, tenant, thread_id, run_id) if RunStatus(
            run.status) in ACTIVE - {RunStatus.CANCELLING} else run
    return run


def pending_step(session: Session, run: RunRecord) -> RunStepRecord:
    """The tool_calls step awaiting outputs."""
    step = session.exec(select(RunStepRecord).where(
        RunStepRecord.run_id == run.id, RunStepRecord.type == "tool_calls",
        RunStepRecord.status == StepStatus.IN_PROGRESS.value,
    ).order_by(RunStepRecord.seq.desc())).first()  # type: ignore[union-attr]
    if step is None:
        raise InvalidRequest(f"Run {run.id} has no tool calls awaiting outputs.")
    return step


def submit_tool_outputs(session: Session, tenant: str, thread_id: str, run_id: str,
                        body: SubmitToolOutputs) -> tuple[RunRecord, RunStepRecord]:
    """All outputs at once: fill the step, requires_action -> queued, enqueue the next step."""
    run = get(session, tenant, thread_id, run_id)
    if run.status != RunStatus.REQUIRES_ACTION.value:
        raise InvalidRequest(f'Runs in status "{run.status}" do not accept tool outputs.')
    expected = [c["id"] for c in (run.required_action or {}).get(
        "submit_tool_outputs", {}).get("tool_calls", [])]
    given: dict[str, str] = {}
    for i, out in enumerate(body.tool_outputs):
        if out.tool_call_id not in expected:
            raise InvalidRequest(f"No tool call found with id '{out.tool_call_id}'.",
                                 param=f"tool_outputs[{i}].tool_call_id")
        if out.tool_call_id in given:
            raise InvalidRequest(f"Duplicate output for tool call '{out.tool_call_id}'.",
                                 param=f"tool_outputs[{i}].tool_call_id")
        given[out.tool_call_id] = out.output
    missing = [c for c in expected if c not in given]
    if missing:
        raise InvalidRequest(
            f"Expected tool outputs for call_ids {expected}, got {list(given)}; all outputs"
            " must be submitted in a single request.", param="tool_outputs")
    step = pending_step(session, run)
    if not engine_runs.accept_outputs(session, run, step, given):
        raise InvalidRequest(f'Runs in status "{run.status}" do not accept tool outputs.')
    if not run.stream:  # a stream this request opens starts at the step it completed
        emit(session, tenant, run.id, "thread.run.step.completed",
             run_wire.step(step).model_dump(mode="json"))
    return run, step
