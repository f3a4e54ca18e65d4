"""Runs, worker side: claim a step under a lease, record its outcome, retry, fail, cancel."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select

from orchestrator.config import get_settings
from orchestrator.db import insert
from orchestrator.engine import code_interpreter
from orchestrator.engine import file_search as search_tool
from orchestrator.engine.attempts import backoff, charge, spent, spent_message
from orchestrator.engine.cas import cas, move, move_id
from orchestrator.engine.events import (
    CREATED,
    MessageAnnotated,
    MessageChanged,
    RunChanged,
    StepChanged,
    emit,
)
from orchestrator.engine.outcome import ModelOutcome, StepIds
from orchestrator.engine.prompt import BUILTIN_FUNCTIONS
from orchestrator.engine.schedule import advance_later
from orchestrator.engine.status import TERMINAL, RunStatus, StepStatus
from orchestrator.engine.terminal import fail, finish_cancel, load
from orchestrator.ids import new_id
from orchestrator.models import MessageRecord, RunRecord, RunStepRecord
from orchestrator.models.base import now
from orchestrator.models.message import TOOL_CALL, function_call_id

HISTORY_LIMIT = 1000  # newest thread messages read per step; truncation cuts further


# Statements of every step, built once: executions hit the compiled cache without re-keying.
RECENT_MESSAGES = select(MessageRecord).where(
    col(MessageRecord.thread_id) == bindparam("thread_id"),
).order_by(col(MessageRecord.seq).desc()).limit(HISTORY_LIMIT)
RUN_STEPS = select(RunStepRecord).where(col(RunStepRecord.run_id) == bindparam("run_id"))


def new_step_ids() -> StepIds:
    """Fresh ids for the step a model call may produce."""
    return StepIds(new_id("step"), new_id("message"), new_id("step"))


def claim(session: Session, run_id: str, owner: str) -> RunRecord | None:
    """Take the run's next step under a lease, or None when there is nothing for us to do.

    The common case, a queued run, is one compare-and-set that returns the run; anything else
    is read first and handled by its status.
    """
    lease_until = time.time() + get_settings().lease_seconds
    run = move_id(session, run_id, RunStatus.QUEUED, RunStatus.IN_PROGRESS, started_at=now(),
                  lease_owner=owner, lease_expires_at=lease_until)
    if run is not None:
        emit(session, RunChanged(run, RunStatus.IN_PROGRESS))
        return run
    run = load(session, run_id)
    if run is None or RunStatus(run.status) in TERMINAL:
        return None
    status = RunStatus(run.status)
    if status is RunStatus.CANCELLING:
        finish_cancel(session, run)
        return None
    if status is RunStatus.QUEUED:
        event = move(session, run, RunStatus.IN_PROGRESS, started_at=now(),
                     lease_owner=owner, lease_expires_at=lease_until)
        if event is None:
            return None
        emit(session, RunChanged(run, event))
        return run
    if status is RunStatus.IN_PROGRESS:
        if run.lease_expires_at is not None and run.lease_expires_at > time.time():
            return None  # live work elsewhere, or a retry not yet due
        return _take_over(session, run, owner, lease_until)
    return None  # requires_action: waits for the client (or expiry)


def _take_over(session: Session, run: RunRecord, owner: str,
               lease_until: float) -> RunRecord | None:
    """An in_progress run whose lease ran out: count the attempt that lapsed (attempts.py),
    fail the run once they are spent, else take the lease and go on with the step."""
    failed = charge(run)
    if spent(run):
        fail(session, run, "server_error", spent_message(failed))
        return None
    changes: dict[str, Any] = {"lease_owner": owner, "lease_expires_at": lease_until}
    waits_on_sandbox = (run.lease_owner or "").startswith(code_interpreter.owner_of(""))
    if not waits_on_sandbox:  # resume_pending counts a re-sent sandbox job itself
        changes["attempts"] = failed
    if not cas(session, run, changes):
        return None
    return None if code_interpreter.resume_pending(session, run, owner) else run


def schedule_retry(session: Session, run: RunRecord, owner: str, code: str, message: str,
                   retry_after: float | None) -> bool:
    """Back off and try the step again, or fail the run once attempts run out."""
    s = get_settings()
    attempts = run.attempts + 1
    cap = s.model_rate_limit_attempts if code == "rate_limit_exceeded" else s.model_max_attempts
    if attempts >= cap:
        return fail(session, run, code, f"{message} (after {attempts} attempts)", owner)
    delay = backoff(attempts)
    if retry_after is not None:
        delay = min(max(delay, retry_after), s.model_retry_max)
    if not cas(session, run, {"attempts": attempts, "lease_owner": None,
                              "lease_expires_at": time.time() + delay}, owner):
        return False
    advance_later(session, run, countdown=delay)
    return True


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}


def _emit_step(session: Session, run: RunRecord, step: RunStepRecord, *changes: str) -> None:
    for change in changes:
        emit(session, StepChanged(run, step, change))


def _emit_message(session: Session, run: RunRecord, msg: MessageRecord, *changes: str) -> None:
    for change in changes:
        emit(session, MessageChanged(run, msg, change))


def _answer_content(session: Session, run: RunRecord, text: str,
                    first_step: bool) -> list[dict[str, Any]]:
    """The answer's content parts: code-interpreter figures and file links, search citations."""
    if first_step:  # no tool call of this run to link or cite
        return [{"type": "text", "text": {"value": text, "annotations": []}}]
    parts = code_interpreter.answer_content(session, run, text)
    annotations = parts[-1]["text"]["annotations"]
    annotations.extend(search_tool.citations(session, run, text))
    annotations.sort(key=lambda a: a["start_index"])
    return parts


def record_outcome(session: Session, run: RunRecord, owner: str, outcome: ModelOutcome,
                   ids: StepIds, streamed_created: frozenset[str] = frozenset()) -> bool:
    """Persist one model answer as steps, message and the run's next status; False if stale.

    The write is a CAS on (status, version, lease owner), so a duplicate or late worker
    changes nothing and writes no second message.
    """
    total = run.usage or _usage(0, 0)
    usage = _usage(total["prompt_tokens"] + outcome.prompt_tokens,
                   total["completion_tokens"] + outcome.completion_tokens)
    step_usage = _usage(outcome.prompt_tokens, outcome.completion_tokens)
    ordinal = run.steps_taken
    tool_ordinal = ordinal + (1 if outcome.content else 0)
    taken = tool_ordinal + (1 if outcome.tool_calls else 0)
    builtin = [c for c in outcome.tool_calls if c.name in BUILTIN_FUNCTIONS]
    cut = outcome.finish_reason == "length"
    if builtin and search_tool.handles(outcome):
        return search_tool.record_search(session, run, owner, outcome, ids, streamed_created)
    if builtin and code_interpreter.handles(run, outcome.tool_calls):
        return code_interpreter.record_calls(session, run, owner, outcome, ids, usage,
                                             step_usage, streamed_created)
    if builtin:  # a built-in the run does not have, or code and search in one turn
        names = sorted({c.name for c in builtin})
        return fail(session, run, "server_error",
                    f"The model called {', '.join(names)}, which this run cannot use together"
                    " or does not have enabled.", owner)
    ends_on_calls = bool(outcome.tool_calls) and run.end_on_function_calls
    if outcome.tool_calls and not ends_on_calls:
        changes: dict[str, Any] = {
            "usage": usage, "steps_taken": taken, "attempts": 0, "lease_owner": None,
            "lease_expires_at": None, "required_action": {
                "type": "submit_tool_outputs", "submit_tool_outputs": {"tool_calls": [
                    {"id": c.id, "type": "function",
                     "function": {"name": c.name, "arguments": c.arguments}}
                    for c in outcome.tool_calls]}}}
        event = move(session, run, RunStatus.REQUIRES_ACTION, owner, **changes)
    elif cut and run.max_completion_tokens:
        event = move(session, run, RunStatus.INCOMPLETE, owner, usage=usage,
                     incomplete_details={"reason": "max_completion_tokens"},
                     steps_taken=taken, lease_owner=None, lease_expires_at=None)
    else:
        event = move(session, run, RunStatus.COMPLETED, owner, usage=usage, completed_at=now(),
                     steps_taken=taken, lease_owner=None, lease_expires_at=None)
    if event is None:
        return False
    created = now()
    if outcome.content:
        msg = MessageRecord(
            id=ids.message, tenant=run.tenant, created_at=created, thread_id=run.thread_id,
            role="assistant",
            content=_answer_content(session, run, outcome.content, first_step=ordinal == 0),
            attachments=[], status="incomplete" if cut else "completed",
            incomplete_details={"reason": "max_tokens"} if cut else None,
            completed_at=None if cut else created, incomplete_at=created if cut else None,
            assistant_id=run.assistant_id, run_id=run.id)
        step = RunStepRecord(
            id=ids.message_step, tenant=run.tenant, created_at=created, run_id=run.id,
            ordinal=ordinal, thread_id=run.thread_id, assistant_id=run.assistant_id,
            type="message_creation", status=StepStatus.COMPLETED.value, completed_at=created,
            step_details={"type": "message_creation",
                          "message_creation": {"message_id": ids.message}},
            usage=None if outcome.tool_calls else step_usage)
        insert(session, msg, step)
        if "message" not in streamed_created:
            _emit_step(session, run, step, CREATED, StepStatus.IN_PROGRESS)
            _emit_message(session, run, msg, CREATED, "in_progress")
        else:  # the citations of the text streamed before them
            emit(session, MessageAnnotated(run, msg))
        _emit_message(session, run, msg, "incomplete" if cut else "completed")
        _emit_step(session, run, step, StepStatus.COMPLETED)
    if outcome.tool_calls:
        tool_step = RunStepRecord(
            id=ids.tool_step, tenant=run.tenant, created_at=created, run_id=run.id,
            ordinal=tool_ordinal, thread_id=run.thread_id, assistant_id=run.assistant_id,
            type="tool_calls", usage=step_usage, completed_at=created if ends_on_calls else None,
            status=(StepStatus.COMPLETED if ends_on_calls else StepStatus.IN_PROGRESS).value,
            step_details={"type": "tool_calls", "tool_calls": [
                {"id": c.id, "type": "function",
                 "function": {"name": c.name, "arguments": c.arguments, "output": None}}
                for c in outcome.tool_calls]})
        insert(session, tool_step)
        if "tools" not in streamed_created:
            _emit_step(session, run, tool_step, CREATED, StepStatus.IN_PROGRESS)
        if ends_on_calls:
            _record_calls(session, run, outcome, created, "tools" in streamed_created)
            _emit_step(session, run, tool_step, StepStatus.COMPLETED)
    emit(session, RunChanged(run, event))
    return True


def _record_calls(session: Session, run: RunRecord, outcome: ModelOutcome, created: int,
                  streamed: bool) -> None:
    """A run that ends on its function calls keeps them as the thread's tool_call messages."""
    calls = [MessageRecord(
        id=function_call_id(run.id, i), tenant=run.tenant, created_at=created,
        thread_id=run.thread_id, role=TOOL_CALL, attachments=[], status="completed",
        completed_at=created, assistant_id=run.assistant_id, run_id=run.id,
        content=[{"type": "function_call", "function_call": {
            "call_id": c.id, "name": c.name, "arguments": c.arguments}}])
        for i, c in enumerate(outcome.tool_calls)]
    insert(session, *calls)
    for msg in calls:
        if not streamed:
            _emit_message(session, run, msg, CREATED, "in_progress")
        _emit_message(session, run, msg, "completed")


def exhausted_budget(run: RunRecord) -> str | None:
    """Which token budget (max_prompt_tokens / max_completion_tokens) the run has used up."""
    used = run.usage or {}
    if run.max_prompt_tokens and used.get("prompt_tokens", 0) >= run.max_prompt_tokens:
        return "max_prompt_tokens"
    if run.max_completion_tokens and (
            used.get("completion_tokens", 0) >= run.max_completion_tokens):
        return "max_completion_tokens"
    return None


def step_cap_reached(run: RunRecord) -> bool:
    """Whether the run has used up its step budget."""
    return run.steps_taken >= get_settings().max_run_steps


def renew_leases(session: Session, held: dict[str, str], until: float) -> int:
    """Heartbeat: push the leases we still hold (run id -> lease owner) out to `until`.

    Owners are unique per attempt, so `id IN … AND lease_owner IN …` matches exactly the
    (run, owner) pairs we hold, through the primary key.
    """
    if not held:
        return 0
    stmt = update(RunRecord).where(
        col(RunRecord.id).in_(list(held)), col(RunRecord.lease_owner).in_(set(held.values())),
        col(RunRecord.status) == RunStatus.IN_PROGRESS.value,
    ).values(lease_expires_at=until).execution_options(synchronize_session=False)
    result = session.exec(stmt)
    return int(result.rowcount)


def history(session: Session, run: RunRecord) -> tuple[list[MessageRecord],
                                                        list[RunStepRecord],
                                                        list[MessageRecord]]:
    """Thread messages before the run, the run's steps, and the run's own messages."""
    recent = list(session.exec(RECENT_MESSAGES, params={"thread_id": run.thread_id}).all())
    recent.reverse()
    thread_msgs = [m for m in recent if m.run_id != run.id]
    if not run.steps_taken:  # a first step: no steps and no answers of this run yet
        return thread_msgs, [], []
    own = [m for m in recent if m.run_id == run.id]
    steps = session.exec(RUN_STEPS, params={"run_id": run.id}).all()
    return thread_msgs, list(steps), own
