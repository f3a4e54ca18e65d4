"""Code-interpreter calls of a run: record the step, send the sandbox job, record its outputs.

Hooks: execution.record_outcome hands code_interpreter calls to record_calls; claim() asks
resume_pending before re-running the model; runs.sandbox_done calls record_results (through
sandbox_record.record, its own transaction).
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from orchestrator import jobs
from orchestrator.config import get_settings
from orchestrator.db import after_commit
from orchestrator.engine.cas import cas
from orchestrator.engine.events import CREATED, MessageChanged, StepChanged, StepOutputs, emit
from orchestrator.engine.outcome import ModelOutcome, StepIds, ToolCall
from orchestrator.engine.schedule import advance_later
from orchestrator.engine.status import RunStatus, StepStatus
from orchestrator.engine.terminal import fail, finish_cancel, load
from orchestrator.jobs import Task
from orchestrator.models import (
    AssistantRecord,
    FileRecord,
    MessageRecord,
    RunRecord,
    RunStepRecord,
    ThreadRecord,
)
from orchestrator.models.base import now
from orchestrator.redis_client import get_redis
from orchestrator.storage.files import save_file

NAME = "code_interpreter"
STORE = "code_interpreter_store"  # session.info: the blob store to write outputs with
CALLBACK = Task.SANDBOX_DONE
SANDBOX_PATH = re.compile(r"sandbox:(/mnt/data/[^\s)\]\"'`]+)")


def owner_of(step_id: str) -> str:
    """The lease owner that marks a run waiting on its sandbox job."""
    return f"sandbox:{step_id}"


def lease_until(calls: int) -> float:
    """How long the sandbox job may take before the sweeper re-sends it."""
    s = get_settings()
    return time.time() + (s.sandbox_timeout + 5) * max(calls, 1) + s.sandbox_lease_margin


def handles(run: RunRecord, calls: list[ToolCall]) -> bool:
    """Whether every call is a code_interpreter call and the run has that tool enabled."""
    return any(t.get("type") == NAME for t in run.tools) and all(c.name == NAME for c in calls)


def _code(call: ToolCall) -> str:
    try:
        args = json.loads(call.arguments)
    except ValueError:
        return call.arguments
    return str(args.get("code", "")) if isinstance(args, dict) else call.arguments


def record_calls(session: Session, run: RunRecord, owner: str, outcome: ModelOutcome,
                 ids: StepIds, usage: dict[str, int], step_usage: dict[str, int],
                 streamed: frozenset[str] = frozenset()) -> bool:
    """An in_progress tool_calls step (after the model's text, if any, as a message step);
    the run stays in_progress under the sandbox job's lease."""
    step_id = ids.tool_step
    ordinal = run.steps_taken
    taken = ordinal + (2 if outcome.content else 1)
    if not cas(session, run, {"usage": usage, "steps_taken": taken,
                              "attempts": 0, "lease_owner": owner_of(step_id),
                              "lease_expires_at": lease_until(len(outcome.tool_calls))}, owner):
        return False
    if outcome.content:
        _message(session, run, ids, outcome.content, ordinal, "message" in streamed)
    calls = [{"id": c.id, "type": NAME, NAME: {"input": _code(c), "outputs": []}}
             for c in outcome.tool_calls]
    step = RunStepRecord(
        id=step_id, tenant=run.tenant, created_at=now(), run_id=run.id,
        ordinal=taken - 1, thread_id=run.thread_id, assistant_id=run.assistant_id,
        type="tool_calls", status=StepStatus.IN_PROGRESS.value, usage=step_usage,
        step_details={"type": "tool_calls", "tool_calls": calls})
    session.add(step)
    session.flush()
    if "tools" not in streamed:
        _emit_step(session, run, step, CREATED, StepStatus.IN_PROGRESS)
    send_job(session, run, step)
    return True


def session_of(run: RunRecord) -> str:
    """The sandbox session of the run's code: its tool entry's `session` if it names one
    (a session shared by several runs), else the thread's."""
    return next((str(t["session"]) for t in run.tools
                 if t.get("type") == NAME and t.get("session")), run.thread_id)


def _route_key(run: RunRecord) -> str:
    return f"orch:sandbox:route:{run.tenant}:{session_of(run)}"


def alive_key(queue: str) -> str:
    """The heartbeat key of a sandbox worker's own queue."""
    return f"orch:sandbox:alive:{queue}"


def send_job(session: Session, run: RunRecord, step: RunStepRecord) -> None:
    """After commit, send the job to the worker holding the thread's session while it lives
    (its own queue), otherwise to the shared `sandbox` queue (a fresh session)."""
    payload = job(session, run, step)

    def send() -> None:
        redis = get_redis()
        raw = redis.get(_route_key(run))
        route = raw.decode() if isinstance(raw, bytes) else raw
        queue = route if route and redis.exists(alive_key(route)) else None
        jobs.producer().send_task(Task.SANDBOX_EXECUTE, args=[payload],
                                  queue=queue or jobs.QUEUES[Task.SANDBOX_EXECUTE])

    after_commit(session, send)


def _message(session: Session, run: RunRecord, ids: StepIds, text: str, ordinal: int,
             streamed: bool) -> None:
    """The model's words before its code, as a completed message_creation step (after the
    run's figures so far, as every answer of the run shows them and its stream sent them)."""
    created = now()
    shown = figures(session.exec(select(RunStepRecord).where(
        RunStepRecord.run_id == run.id, RunStepRecord.type == "tool_calls")).all()) if (
        ordinal) else []
    msg = MessageRecord(
        id=ids.message, tenant=run.tenant, created_at=created, thread_id=run.thread_id,
        role="assistant",
        content=[*shown, {"type": "text", "text": {"value": text, "annotations": []}}],
        attachments=[], status="completed", completed_at=created,
        assistant_id=run.assistant_id, run_id=run.id)
    step = RunStepRecord(
        id=ids.message_step, tenant=run.tenant, created_at=created, run_id=run.id,
        ordinal=ordinal, thread_id=run.thread_id, assistant_id=run.assistant_id,
        type="message_creation", status=StepStatus.COMPLETED.value, completed_at=created,
        step_details={"type": "message_creation", "message_creation": {"message_id": msg.id}})
    session.add(msg)
    session.add(step)
    session.flush()
    if not streamed:
        _emit_step(session, run, step, CREATED, StepStatus.IN_PROGRESS)
        for change in (CREATED, "in_progress"):
            emit(session, MessageChanged(run, msg, change))
    emit(session, MessageChanged(run, msg, "completed"))
    _emit_step(session, run, step, StepStatus.COMPLETED)


def job(session: Session, run: RunRecord, step: RunStepRecord) -> dict[str, Any]:
    """The sandbox job for a step: its cells, the session key and the input files."""
    calls = [{"id": c["id"], "code": c[NAME]["input"]}
             for c in step.step_details["tool_calls"] if c["type"] == NAME]
    return {"key": step.id, "session": session_of(run), "owner": run.tenant, "calls": calls,
            "files": input_files(session, run), "run_id": run.id, "callback": CALLBACK,
            "callback_args": [run.id, step.id]}


def input_files(session: Session, run: RunRecord) -> list[dict[str, str | int]]:
    """Files the code may read (assistant, thread and message attachments, v1 file_ids),
    each under its filename and under its id; files the tool entry lists under their name.
    Each names its blob (key and size): the sandbox worker reads it from the blob store."""
    named = {str(f["file_id"]): str(f["name"]) for t in run.tools if t.get("type") == NAME
             for f in t.get("files") or []}
    ids: list[str] = [*run.file_ids, *named]
    asst = session.exec(select(AssistantRecord).where(
        AssistantRecord.id == run.assistant_id)).first()
    if asst is not None:
        ids += ((asst.tool_resources or {}).get(NAME) or {}).get("file_ids") or []
        ids += [link["id"] for link in asst.file_links]
    thread = session.exec(select(ThreadRecord).where(ThreadRecord.id == run.thread_id)).first()
    if thread is not None:
        ids += ((thread.tool_resources or {}).get(NAME) or {}).get("file_ids") or []
    for msg in session.exec(select(MessageRecord).where(
            MessageRecord.thread_id == run.thread_id)).all():
        for att in msg.attachments or []:
            if any(t.get("type") == NAME for t in att.get("tools", [])):
                ids.append(att["file_id"])
    out: list[dict[str, str | int]] = []
    names = set()
    rows = session.exec(select(FileRecord).where(
        col(FileRecord.id).in_(list(dict.fromkeys(ids))), FileRecord.tenant == run.tenant))
    for rec in rows.all():
        name = rec.filename if rec.filename not in names else f"{rec.id}-{rec.filename}"
        # Also /mnt/data/<file id>, where the hosted code interpreter put it (the sandbox
        # links the second name to the same bytes).
        aliases = (named[rec.id],) if rec.id in named else (name, rec.id)
        for alias in dict.fromkeys(aliases):
            if alias not in names:
                names.add(alias)
                out.append({"name": alias, "key": rec.storage_key, "size": rec.bytes})
    return out


def pending_step(session: Session, run: RunRecord) -> RunStepRecord | None:
    """The run's code_interpreter step still waiting for its sandbox job, if any."""
    for step in session.exec(select(RunStepRecord).where(
            RunStepRecord.run_id == run.id, RunStepRecord.type == "tool_calls",
            RunStepRecord.status == StepStatus.IN_PROGRESS.value)).all():
        if any(c["type"] == NAME for c in step.step_details.get("tool_calls", [])):
            return step
    return None


def sandbox_workers_alive() -> bool:
    """Whether any sandbox worker's heartbeat is current (then a slow job is only queued)."""
    return next(iter(get_redis().scan_iter(alive_key("*"), count=100)), None) is not None


def renew_job_lease(session: Session, run_id: str, step_id: str, calls: int) -> bool:
    """The sandbox worker starts the job: give the run a full lease for its execution."""
    stmt = update(RunRecord).where(
        col(RunRecord.id) == run_id, col(RunRecord.lease_owner) == owner_of(step_id),
        col(RunRecord.status) == RunStatus.IN_PROGRESS.value,
    ).values(lease_expires_at=lease_until(calls)).execution_options(synchronize_session=False)
    return bool(session.exec(stmt).rowcount)


def resume_pending(session: Session, run: RunRecord, owner: str) -> bool:
    """claim() hook: a lost or slow sandbox job is re-sent instead of calling the model again."""
    step = pending_step(session, run)
    if step is None:
        return False
    if run.attempts >= get_settings().sandbox_max_resends and not sandbox_workers_alive():
        fail(session, run, "server_error", "The code interpreter sandbox did not answer "
             f"after {run.attempts + 1} attempts (is `orchestrator sandbox-worker` running?).",
             owner)
        return True
    calls = len(step.step_details["tool_calls"])
    if cas(session, run, {"lease_owner": owner_of(step.id), "attempts": run.attempts + 1,
                          "lease_expires_at": lease_until(calls)}, owner):
        send_job(session, run, step)
    return True


def _outputs(session: Session, run: RunRecord, result: dict[str, Any]) -> tuple[
        list[dict[str, Any]], dict[str, str]]:
    outputs: list[dict[str, Any]] = []
    text = _utf8(result.get("logs") or "")
    if result.get("error") and result["error"] not in text:
        text = (text + "\n" + _utf8(result["error"])).strip()
    if text:
        outputs.append({"type": "logs", "logs": text})
    store = session.info.get(STORE)  # sandbox_record's, noting what it writes
    for i, png in enumerate(result.get("images", [])):
        rec = save_file(session, run.tenant, f"{result['id']}-{i}.png", "assistants_output",
                        [base64.b64decode(png)], store)
        outputs.append({"type": "image", "image": {"file_id": rec.id}})
    files = {}
    for f in result.get("files", []):
        name = _utf8(f["name"])
        rec = save_file(session, run.tenant, name.rsplit("/", 1)[-1], "assistants_output",
                        [base64.b64decode(f["data"])], store)
        files[f"/mnt/data/{name}"] = rec.id
    return outputs, files


def _utf8(text: str) -> str:
    """Text the database and the wire accept (lone surrogates replaced)."""
    return text.encode("utf-8", "replace").decode("utf-8")


def record_results(session: Session, run_id: str, step_id: str,
                   results: list[dict[str, Any]], route: str | None = None) -> str:
    """runs.sandbox_done: write the outputs into the step, then let the run go on.

    `route` is the queue of the worker now holding the thread's session.
    """
    run = load(session, run_id)
    if run is not None and route:
        get_redis().set(_route_key(run), route, ex=int(get_settings().sandbox_idle_ttl))
    step = session.exec(select(RunStepRecord).where(RunStepRecord.id == step_id)).first()
    if run is None or step is None or step.status != StepStatus.IN_PROGRESS.value:
        return "stale: step already closed"
    if run.status == RunStatus.CANCELLING.value:
        finish_cancel(session, run)
        return "cancelled"
    if run.status != RunStatus.IN_PROGRESS.value or run.lease_owner != owner_of(step_id):
        return "stale: run moved on"
    unavailable = next((r for r in results if r.get("status") == "unavailable"), None)
    if unavailable is not None:
        fail(session, run, "server_error", _utf8(unavailable.get("error") or
                                                 "The code interpreter sandbox cannot run."),
             owner_of(step_id))
        return "failed: sandbox unavailable"
    by_id = {r["id"]: r for r in results}
    calls, produced = [], {}
    for call in step.step_details["tool_calls"]:
        if call["type"] == NAME and call["id"] in by_id:
            outputs, files = _outputs(session, run, by_id[call["id"]])
            call = {**call, NAME: {**call[NAME], "outputs": outputs}}
            produced[call["id"]] = files
        calls.append(call)
    if not cas(session, run, {"lease_owner": None, "lease_expires_at": None, "attempts": 0},
               owner_of(step_id)):
        return "stale: lease lost"
    step.step_details = {"type": "tool_calls", "tool_calls": calls, "sandbox_files": produced}
    step.status, step.completed_at = StepStatus.COMPLETED.value, now()
    session.add(step)
    session.flush()
    emit(session, StepOutputs(run, step))  # the outputs (logs, images), then the completed step
    _emit_step(session, run, step, StepStatus.COMPLETED)
    advance_later(session, run)
    return "recorded"


def answer_content(session: Session, run: RunRecord, text: str) -> list[dict[str, Any]]:
    """record_outcome hook: the answer's parts, with this run's figures and file links."""
    files: dict[str, str] = {}
    steps = session.exec(select(RunStepRecord).where(
        RunStepRecord.run_id == run.id, RunStepRecord.type == "tool_calls")).all()
    for step in steps:
        for produced in step.step_details.get("sandbox_files", {}).values():
            files.update(produced)
    annotations = []
    for m in SANDBOX_PATH.finditer(text):
        file_id = files.get(m.group(1).rstrip(".,;:"))
        if file_id:
            annotations.append({"type": "file_path", "text": m.group(0),
                                "start_index": m.start(), "end_index": m.end(),
                                "file_path": {"file_id": file_id}})
    return [*figures(steps), {"type": "text", "text": {"value": text,
                                                       "annotations": annotations}}]


def figures(steps: Iterable[RunStepRecord]) -> list[dict[str, Any]]:
    """The image_file parts an answer shows before its text: the run's code figures, in order
    (also what a streamed answer sends first, so its text has its final index)."""
    parts = []
    for step in sorted(steps, key=lambda s: s.ordinal):
        for call in step.step_details.get("tool_calls", []) if step.type == "tool_calls" else []:
            for out in call.get(NAME, {}).get("outputs", []) if call["type"] == NAME else []:
                if out.get("type") == "image":
                    parts.append({"type": "image_file",
                                  "image_file": {"file_id": out["image"]["file_id"]}})
    return parts


def _emit_step(session: Session, run: RunRecord, step: RunStepRecord, *changes: str) -> None:
    for change in changes:
        emit(session, StepChanged(run, step, change))
