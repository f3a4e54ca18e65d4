"""The file_search (v2) / retrieval (v1) tool in a run: search inline, record the step,
hand the results to the model as numbered sources, and turn its markers into citations."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from orchestrator.config import get_settings
from orchestrator.db import unit_of_work
from orchestrator.engine import search_scope as scope
from orchestrator.engine.cas import cas, move
from orchestrator.engine.events import CREATED, RunChanged, StepChanged, emit
from orchestrator.engine.outcome import ModelOutcome, StepIds, ToolCall
from orchestrator.engine.schedule import advance_later
from orchestrator.engine.status import RunStatus, StepStatus
from orchestrator.models import RunRecord, RunStepRecord, VectorStoreFileRecord
from orchestrator.models.base import now
from orchestrator.retrieval import index
from orchestrator.retrieval.filters import matches
from orchestrator.retrieval.stores import filenames, touch_ids

SEARCH_TOOLS = frozenset({"file_search", "retrieval"})
OTHER_BUILTINS = frozenset({"code_interpreter"})  # runs.prompt.BUILTIN_FUNCTIONS but ours
RANKER = "default_2024_08_21"
MARKER = re.compile(r"【(\d+):(\d+)†([^】]*)】")
SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


def handles(outcome: ModelOutcome) -> bool:
    """Whether the answer calls a search and otherwise only client functions."""
    names = {c.name for c in outcome.tool_calls}
    return bool(names & SEARCH_TOOLS) and not names & OTHER_BUILTINS


def _options(run: RunRecord) -> tuple[int, float]:
    for tool in run.tools:
        if tool.get("type") == "file_search":
            fs = tool.get("file_search") or {}
            ranking = fs.get("ranking_options") or {}
            return (int(fs.get("max_num_results") or get_settings().retrieval_max_results),
                    float(ranking.get("score_threshold") or 0.0))
    return get_settings().retrieval_max_results, 0.0


def _query(call: ToolCall) -> str:
    try:
        args = json.loads(call.arguments or "{}")
    except json.JSONDecodeError:
        return call.arguments
    return str(args.get("query", "")) if isinstance(args, dict) else str(args)


def _renew_lease(run_id: str, owner: str) -> None:
    """Push out our lease on the run (its own transaction; the version is left alone)."""
    with unit_of_work() as own:
        own.exec(update(RunRecord).where(
            col(RunRecord.id) == run_id, col(RunRecord.lease_owner) == owner).values(
            lease_expires_at=time.time() + get_settings().lease_seconds).execution_options(
            synchronize_session=False))


def _search(session: Session, run: RunRecord, owner: str, call: ToolCall, limit: int,
            threshold: float, searched: set[str]) -> list[dict[str, Any]]:
    where = scope.resolve(session, run, call.name)
    scope.index_pending(where, lambda: _renew_lease(run.id, owner))
    searched.update(where.store_ids)
    file_ids = _filtered(session, run, where.store_ids, where.file_ids)
    hits = [h for h in index.search(session, run.tenant, where.store_ids, _query(call), limit,
                                    file_ids) if h.score >= threshold]
    names = filenames(session, run.tenant, [h.file_id for h in hits])
    return [{"file_id": h.file_id, "file_name": names.get(h.file_id, ""), "score": h.score,
             "content": [{"type": "text", "text": h.text}]} for h in hits]


def _filtered(session: Session, run: RunRecord, store_ids: list[str],
              file_ids: list[str] | None) -> list[str] | None:
    """The files a search may hit: the scope's, less those the tool's attribute `filters`
    (a response's file_search) exclude."""
    flt = next((t.get("filters") for t in run.tools
                if t.get("type") == "file_search" and t.get("filters")), None)
    if not flt or not store_ids:
        return file_ids
    rows = session.exec(select(VectorStoreFileRecord.id, VectorStoreFileRecord.attributes).where(
        col(VectorStoreFileRecord.vector_store_id).in_(store_ids))).all()
    allowed = [fid for fid, attrs in rows if matches(flt, dict(attrs or {}))]
    return allowed if file_ids is None else [f for f in file_ids if f in allowed]


def record_search(session: Session, run: RunRecord, owner: str, outcome: ModelOutcome,
                  ids: StepIds, streamed_created: frozenset[str] = frozenset()) -> bool:
    """Search for every search call and record the tool_calls step: completed, the run stays
    in_progress and the next step is queued; with function calls beside the searches, the
    step waits for their outputs (requires_action). False if our claim went stale."""
    limit, threshold = _options(run)
    ordinal = run.steps_taken
    calls: list[dict[str, Any]] = []
    searches = {}
    functions = [c for c in outcome.tool_calls if c.name not in SEARCH_TOOLS]
    searched: set[str] = set()
    for call in outcome.tool_calls:
        if call.name not in SEARCH_TOOLS:
            calls.append({"id": call.id, "type": "function", "function": {
                "name": call.name, "arguments": call.arguments, "output": None}})
            continue
        results = _search(session, run, owner, call, limit, threshold, searched)
        calls.append({"id": call.id, "type": "file_search", "file_search": {
            "ranking_options": {"ranker": RANKER, "score_threshold": threshold},
            "results": results}})
        searches[call.id] = {"name": call.name, "query": _query(call), "marker": ordinal}
    total = run.usage or {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    usage = {"prompt_tokens": total["prompt_tokens"] + outcome.prompt_tokens,
             "completion_tokens": total["completion_tokens"] + outcome.completion_tokens}
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    changes: dict[str, Any] = {"usage": usage, "steps_taken": ordinal + 1, "attempts": 0,
                               "lease_owner": None, "lease_expires_at": None}
    event = None
    if functions:
        event = move(session, run, RunStatus.REQUIRES_ACTION, owner, **changes,
                     required_action={"type": "submit_tool_outputs", "submit_tool_outputs": {
                         "tool_calls": [{"id": c.id, "type": "function", "function": {
                             "name": c.name, "arguments": c.arguments}} for c in functions]}})
        if event is None:
            return False
    elif not cas(session, run, changes, owner):
        return False
    touch_ids(session, sorted(searched))  # after every search: no write before indexing
    created = now()
    status = StepStatus.IN_PROGRESS if functions else StepStatus.COMPLETED
    step = RunStepRecord(
        id=ids.tool_step, tenant=run.tenant, created_at=created, run_id=run.id,
        ordinal=ordinal, thread_id=run.thread_id, assistant_id=run.assistant_id,
        type="tool_calls", status=status.value,
        completed_at=None if functions else created,
        usage={"prompt_tokens": outcome.prompt_tokens,
               "completion_tokens": outcome.completion_tokens,
               "total_tokens": outcome.prompt_tokens + outcome.completion_tokens},
        step_details={"type": "tool_calls", "tool_calls": calls, "searches": searches})
    session.add(step)
    session.flush()
    opened = [] if "tools" in streamed_created else [CREATED, StepStatus.IN_PROGRESS]
    for change in [*opened, *([] if functions else [StepStatus.COMPLETED])]:
        emit(session, StepChanged(run, step, change))
    if event is not None:
        emit(session, RunChanged(run, event))
    else:
        advance_later(session, run)
    return True


def replay(details: dict[str, Any], call: dict[str, Any]) -> tuple[str, str, str]:
    """A recorded search as the model saw it: (function name, arguments, tool output)."""
    meta = (details.get("searches") or {}).get(call["id"], {})
    name, query, marker = meta.get("name", "file_search"), meta.get("query", ""), meta.get(
        "marker", 0)
    results = (call.get("file_search") or {}).get("results") or []
    if not results:
        return name, json.dumps({"query": query}), f'No results in the files for "{query}".'
    lines = [f'Results for "{query}". Cite a result by writing its marker (for example'
             f' 【{marker}:0†source】) right after the sentence it supports.']
    for i, r in enumerate(results):
        text = " ".join(part.get("text", "") for part in r.get("content") or [])
        lines.append(f"\n【{marker}:{i}†{r.get('file_name', '')}】 (score {r.get('score')})\n"
                     f"{text}")
    return name, json.dumps({"query": query}), "\n".join(lines)


def best_quote(text: str, query: str) -> str:
    """The sentences of a passage that share most words with the query (OpenAI's quote)."""
    limit = get_settings().retrieval_quote_chars
    terms = set(index.query_terms(query))
    sentences = [x for x in SENTENCE.split(text) if x.strip()]
    if not sentences:
        return text[:limit]
    best = max(range(len(sentences)), key=lambda i: (
        len(terms & set(index.query_terms(sentences[i]))), -i))
    quote = sentences[best]
    for extra in sentences[best + 1:]:
        if len(quote) + len(extra) + 1 > limit:
            break
        quote = f"{quote} {extra}"
    return quote[:limit].strip()


def citations(session: Session, run: RunRecord, text: str) -> list[dict[str, Any]]:
    """`file_citation` annotations for the markers in an answer that name a recorded result."""
    found = list(MARKER.finditer(text or ""))
    if not found:
        return []
    sources: dict[tuple[int, int], tuple[dict[str, Any], str]] = {}
    for step in session.exec(select(RunStepRecord).where(
            RunStepRecord.run_id == run.id, RunStepRecord.type == "tool_calls")).all():
        searches = step.step_details.get("searches") or {}
        for call in step.step_details.get("tool_calls", []):
            if call.get("type") == "file_search":
                query = (searches.get(call["id"]) or {}).get("query", "")
                for i, r in enumerate((call.get("file_search") or {}).get("results") or []):
                    sources[(step.ordinal, i)] = (r, query)
    out = []
    for m in found:
        source = sources.get((int(m.group(1)), int(m.group(2))))
        if source is None:
            continue
        hit, query = source
        quote = best_quote(" ".join(p.get("text", "") for p in hit.get("content") or []), query)
        out.append({"type": "file_citation", "text": m.group(0), "start_index": m.start(),
                    "end_index": m.end(),
                    "file_citation": {"file_id": hit["file_id"], "quote": quote}})
    return out
