"""Responses and conversations: validate the wire request, then record it for the engine.

A response is a run of this face on a thread: the conversation's (any thread is one) or a
private thread of its own, which starts as a copy of its previous response's thread when it
continues one (so two responses may continue the same one). Its input becomes messages of
that thread, and the engine's answer is the thread's next message.
"""

from __future__ import annotations

import base64
import re
import time
from typing import Any

from sqlalchemy import delete as sql_delete
from sqlmodel import Session, col, select

from orchestrator.config import get_settings
from orchestrator.db import insert
from orchestrator.engine import runs as engine_runs
from orchestrator.engine.prompt import estimate_tokens, message_text
from orchestrator.engine.status import RunStatus
from orchestrator.errors import InvalidRequest, not_found
from orchestrator.faces.responses import code_tool
from orchestrator.faces.responses.items import (
    code_call,
    code_call_id,
    item,
    message_input,
    search_call,
)
from orchestrator.faces.responses.schemas import CreateResponse, InputTokens
from orchestrator.ids import new_id
from orchestrator.models import (
    FileRecord,
    MessageRecord,
    RunRecord,
    RunStepRecord,
    ThreadRecord,
    VectorStoreRecord,
)
from orchestrator.models.base import now
from orchestrator.models.message import TOOL_CALL, TOOL_OUTPUT, function_call_id
from orchestrator.records import get_owned
from orchestrator.retrieval.filters import matches
from orchestrator.retrieval.parsing import ParseError, parse
from orchestrator.storage import get_store

FUNCTION_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
MAX_INPUT_FILE = 32 * 1024 * 1024  # bytes of one input_file, as hosted
FACE = "responses"  # RunRecord.face of the runs this face creates and renders
HOSTED_ONLY = ("web_search", "web_search_preview", "web_search_2025_08_26", "computer",
               "computer_use_preview", "image_generation", "mcp", "local_shell", "shell",
               "apply_patch", "custom")
INCLUDES = ("file_search_call.results", "code_interpreter_call.outputs",
            "message.output_text.logprobs", "reasoning.encrypted_content",
            "message.input_image.image_url", "computer_call_output.output.image_url",
            "web_search_call.action.sources", "web_search_call.results")


def get(session: Session, tenant: str, response_id: str) -> RunRecord:
    """The tenant's stored response, or 404 (a store=false one is never found again)."""
    run = get_owned(session, RunRecord, tenant, response_id, "response")
    if run.face != FACE or not (run.face_data or {}).get("store", True):
        raise not_found("response", response_id)
    return run


def outputs(session: Session, run: RunRecord) -> list[MessageRecord]:
    """The messages the engine wrote for this response, in order."""
    return list(session.exec(select(MessageRecord).where(
        MessageRecord.thread_id == run.thread_id, MessageRecord.run_id == run.id,
    ).order_by(col(MessageRecord.seq))).all())


def cited_names(steps: list[RunStepRecord]) -> dict[str, str]:
    """File names of the results a run's searches found (for its citations)."""
    return {hit["file_id"]: hit.get("file_name", "") for step in steps
            for call in step.step_details.get("tool_calls", [])
            if call.get("type") == "file_search"
            for hit in (call.get("file_search") or {}).get("results") or []}


def run_steps(session: Session, run: RunRecord) -> list[RunStepRecord]:
    """The run's steps in order."""
    return list(session.exec(select(RunStepRecord).where(
        RunStepRecord.run_id == run.id).order_by(col(RunStepRecord.ordinal))).all())


CODE_STATUS = {"in_progress": "interpreting", "completed": "completed", "failed": "failed",
               "cancelled": "incomplete", "expired": "incomplete"}


def code_item(session: Session, run: RunRecord, step: RunStepRecord, index: int,
              outputs: bool, images: dict[str, str] | None = None) -> dict[str, Any]:
    """A step's code_interpreter call as an item; outputs when asked for."""
    if outputs and images is None:
        images = code_tool.image_urls(session, [step])
    return code_call(step.step_details["tool_calls"][index], code_call_id(step.id, index),
                     code_tool.container_of(run) or "", CODE_STATUS.get(step.status, "completed"),
                     images if outputs else None)


def output_items(session: Session, run: RunRecord,
                 include: list[str] | None = None) -> list[dict[str, Any]]:
    """The response's output: its steps' items in order (tool calls, answers); `include` as
    the request that reads it asked (None: as the create did)."""
    steps = run_steps(session, run)
    messages = {m.id: m for m in outputs(session, run)}
    names = cited_names(steps)
    links = code_tool.links(session, run, steps)
    chosen = (run.face_data or {}).get("include") if include is None else include
    results = "file_search_call.results" in (chosen or [])
    code_outputs = "code_interpreter_call.outputs" in (chosen or [])
    images = code_tool.image_urls(session, steps) if code_outputs else None
    out: list[dict[str, Any]] = []
    for step in steps:
        details = step.step_details
        if details.get("type") == "message_creation":
            msg = messages.pop(details["message_creation"]["message_id"], None)
            if msg is not None:
                out.append(item(msg, names, links))
            continue
        searches = details.get("searches") or {}
        for i, call in enumerate(details.get("tool_calls", [])):
            if call.get("type") == "file_search":
                query = (searches.get(call["id"]) or {}).get("query", "")
                out.append(search_call(call, query, results))
            elif call.get("type") == code_tool.NAME:
                out.append(code_item(session, run, step, i, code_outputs, images))
            elif call.get("type") == "function":
                msg = messages.pop(function_call_id(run.id, i), None)
                if msg is not None:
                    out.append(item(msg))
    out.extend(item(m, names, links) for m in messages.values())  # none expected
    return out


def inputs(session: Session, run: RunRecord) -> list[MessageRecord]:
    """The messages this response's request added, in order."""
    ids = (run.face_data or {}).get("input", [])
    if not ids:
        return []
    return list(session.exec(select(MessageRecord).where(
        col(MessageRecord.id).in_(ids)).order_by(col(MessageRecord.seq))).all())


def conversation(session: Session, tenant: str, conversation_id: str,
                 param: str | None = None) -> ThreadRecord:
    """The tenant's conversation (a thread of either face, never a private one), or 404."""
    thread = get_owned(session, ThreadRecord, tenant, conversation_id, "conversation", param)
    if thread.private:
        raise not_found("conversation", conversation_id, param)
    return thread


def new_messages(session: Session, tenant: str, thread: ThreadRecord,
                 items: str | list[dict[str, Any]] | None, where: str) -> list[MessageRecord]:
    """Messages for input items (a string is one user message), added to the thread."""
    if items is None:
        return []
    parsed: list[tuple[str, list[dict[str, Any]]]] = []
    if isinstance(items, str):
        parsed.append(("user", [{"type": "text", "text": {"value": items,
                                                           "annotations": []}}]))
    else:
        for i, entry in enumerate(items):
            if not isinstance(entry, dict):
                raise InvalidRequest("Each input item must be an object.", param=f"{where}[{i}]")
            if entry.get("type") == "item_reference":
                ref = _referenced(session, tenant, entry, f"{where}[{i}]")
                parsed.append((ref.role, [dict(p) for p in ref.content]))
                continue
            parsed.append(message_input(entry, f"{where}[{i}]"))
    for i, (_role, content) in enumerate(parsed):
        for j, part in enumerate(content):
            if part.get("type") == "input_file":
                part["input_file"] = _read_file(session, tenant, part["input_file"],
                                                f"{where}[{i}].content[{j}]")
    created = now()
    messages = [MessageRecord(
        id=new_id("message"), tenant=tenant, created_at=created, thread_id=thread.id,
        role=role, content=content, attachments=[], status="completed", completed_at=created)
        for role, content in parsed]
    if messages:
        insert(session, *messages)
    return messages


def _read_file(session: Session, tenant: str, given: dict[str, Any],
               where: str) -> dict[str, Any]:
    """An input_file's text, read now (from the tenant's file, or the given file_data)."""
    if "file_id" in given:
        rec = get_owned(session, FileRecord, tenant, given["file_id"], "file", f"{where}.file_id")
        if rec.bytes > MAX_INPUT_FILE:  # refused before its bytes are fetched
            raise InvalidRequest(f"An input_file may hold at most {MAX_INPUT_FILE} bytes.",
                                 param=where)
        name, data = rec.filename, b"".join(get_store().reader(rec.storage_key))
    else:
        name, raw = given["filename"], given["file_data"]
        try:
            data = base64.b64decode(raw.split(",", 1)[1] if raw.startswith("data:") else raw,
                                    validate=True)
        except (ValueError, IndexError):
            raise InvalidRequest("file_data must be base64 (or a data: URL).",
                                 param=f"{where}.file_data") from None
    if len(data) > MAX_INPUT_FILE:
        raise InvalidRequest(f"An input_file may hold at most {MAX_INPUT_FILE} bytes.",
                             param=where)
    try:
        text = parse(name, data)
    except ParseError as exc:
        raise InvalidRequest(exc.message, param=where, code=exc.code) from None
    return {**({"file_id": given["file_id"]} if "file_id" in given else {}),
            "filename": name, "text": text}


def _referenced(session: Session, tenant: str, entry: dict[str, Any],
                where: str) -> MessageRecord:
    ref = session.exec(select(MessageRecord).where(
        MessageRecord.id == str(entry.get("id")), MessageRecord.tenant == tenant)).first()
    if ref is None:
        raise not_found("item", str(entry.get("id")), f"{where}.id")
    return ref


def _chat_format(text: dict[str, Any] | None) -> dict[str, Any] | None:
    """`text.format` as the chat-completions `response_format` the engine passes on."""
    fmt = (text or {}).get("format")
    if fmt is None:
        return None
    if not isinstance(fmt, dict) or fmt.get("type") not in ("text", "json_object", "json_schema"):
        raise InvalidRequest("Invalid value for 'text.format.type'. Supported values are:"
                             " 'text', 'json_object' and 'json_schema'.", param="text.format")
    if fmt["type"] == "text":
        return None
    if fmt["type"] == "json_object":
        return {"type": "json_object"}
    if not isinstance(fmt.get("schema"), dict) or not fmt.get("name"):
        raise InvalidRequest("A json_schema format needs a 'name' and a 'schema'.",
                             param="text.format")
    schema = {k: fmt[k] for k in ("name", "schema", "strict", "description") if k in fmt}
    return {"type": "json_schema", "json_schema": schema}


def _search_tool(session: Session, tenant: str, tool: dict[str, Any],
                 where: str) -> dict[str, Any]:
    """A file_search tool as the engine takes it: its stores (the tenant's) and options."""
    ids = tool.get("vector_store_ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(x, str) for x in ids):
        raise InvalidRequest("file_search needs 'vector_store_ids': a list of store ids.",
                             param=f"{where}.vector_store_ids")
    for j, sid in enumerate(ids):
        get_owned(session, VectorStoreRecord, tenant, sid, "vector store",
                  f"{where}.vector_store_ids[{j}]")
    filters = tool.get("filters")
    if filters is not None:
        if not isinstance(filters, dict):
            raise InvalidRequest("Invalid 'filters': expected an object.",
                                 param=f"{where}.filters")
        try:
            matches(filters, {})  # a malformed filter is a 400 now, not a failed search later
        except InvalidRequest as exc:
            exc.param = f"{where}.filters"
            raise
    options: dict[str, Any] = {}
    limit = tool.get("max_num_results")
    if limit is not None:
        if not isinstance(limit, int) or not 1 <= limit <= 50:
            raise InvalidRequest("max_num_results must be between 1 and 50.",
                                 param=f"{where}.max_num_results")
        options["max_num_results"] = limit
    ranking = tool.get("ranking_options") or {}
    if ranking.get("score_threshold") is not None:
        options["ranking_options"] = {"score_threshold": float(ranking["score_threshold"])}
    return {"type": "file_search", "file_search": options, "vector_store_ids": ids,
            **({"filters": filters} if filters else {})}


def _engine_tools(session: Session, tenant: str, tools: list[dict[str, Any]] | None,
                  prev: RunRecord | None = None,
                  thread: ThreadRecord | None = None) -> list[dict[str, Any]]:
    """Responses tools (function flat, file_search with its stores, code_interpreter with
    its container: `prev` / `thread` is what the response continues) as the engine's."""
    out = []
    for i, tool in enumerate(tools or []):
        kind = tool.get("type")
        if kind in HOSTED_ONLY:
            raise InvalidRequest(f"The tool '{kind}' is hosted by OpenAI and cannot run on this"
                                 " server.", param=f"tools[{i}].type")
        if kind == "file_search":
            out.append(_search_tool(session, tenant, tool, f"tools[{i}]"))
            continue
        if kind == code_tool.NAME:
            if any(t["type"] == kind for t in out):
                raise InvalidRequest("Only one code_interpreter tool is allowed.",
                                     param=f"tools[{i}]")
            out.append(code_tool.engine_tool(session, tenant, tool, f"tools[{i}]", prev,
                                             thread))
            continue
        if kind != "function":
            raise InvalidRequest(f"Tools of type '{kind}' are not supported by this server"
                                 " yet.", param=f"tools[{i}].type")
        name = tool.get("name")
        if not isinstance(name, str) or not FUNCTION_NAME.match(name):
            raise InvalidRequest("A function tool needs a 'name' of letters, digits, '_' or"
                                 " '-' (at most 64).", param=f"tools[{i}].name")
        function = {k: tool[k] for k in ("name", "description", "parameters", "strict")
                    if tool.get(k) is not None}
        out.append({"type": "function", "function": function})
    return out


def _engine_choice(choice: str | dict[str, Any] | None, tools: list[dict[str, Any]]) -> Any:
    """`tool_choice` as the engine takes it (a function named as in chat completions)."""
    if choice is None or isinstance(choice, str):
        if choice not in (None, "auto", "none", "required"):
            raise InvalidRequest(f"Invalid value: '{choice}'. Supported values are: 'none',"
                                 " 'auto' and 'required'.", param="tool_choice")
        return choice
    if choice.get("type") in ("code_interpreter", "file_search") and any(
            t["type"] == choice["type"] for t in tools):
        return {"type": choice["type"]}
    if choice.get("type") != "function" or not isinstance(choice.get("name"), str):
        raise InvalidRequest("tool_choice must be 'none', 'auto', 'required' or"
                             " {\"type\": \"function\", \"name\": ...}.", param="tool_choice")
    if choice["name"] not in {t["function"]["name"] for t in tools if "function" in t}:
        raise InvalidRequest(f"Tool choice '{choice['name']}' is not among the tools.",
                             param="tool_choice")
    return {"type": "function", "function": {"name": choice["name"]}}


def _check_calls_answered(session: Session, thread: ThreadRecord) -> None:
    """Every function call of the thread has its output, and every output its call."""
    recent = session.exec(select(MessageRecord).where(
        MessageRecord.thread_id == thread.id,
        col(MessageRecord.role).in_((TOOL_CALL, TOOL_OUTPUT)),
    ).order_by(col(MessageRecord.seq).desc()).limit(200)).all()
    calls = {m.content[0]["function_call"]["call_id"] for m in recent if m.role == TOOL_CALL}
    outs = {m.content[0]["function_call_output"]["call_id"] for m in recent
            if m.role == TOOL_OUTPUT}
    for call_id in sorted(calls - outs):
        raise InvalidRequest(f"No tool output found for function call {call_id}.",
                             param="input")
    for call_id in sorted(outs - calls):
        raise InvalidRequest(f"No tool call found for function call output with call_id"
                             f" {call_id}.", param="input")


def _conversation_id(value: str | dict[str, Any] | None) -> str | None:
    if isinstance(value, dict):
        if not isinstance(value.get("id"), str):
            raise InvalidRequest("Missing required parameter: 'conversation.id'.",
                                 param="conversation.id")
        return str(value["id"])
    return value


def _context(session: Session, tenant: str, body: CreateResponse | InputTokens
             ) -> tuple[ThreadRecord | None, RunRecord | None]:
    """The conversation or the previous response the request continues (not both)."""
    conv_id = _conversation_id(body.conversation)
    if conv_id and body.previous_response_id:
        raise InvalidRequest("Mutually exclusive parameters: Ensure you are only providing one"
                             " of: 'previous_response_id' or 'conversation'.",
                             param="previous_response_id")
    if conv_id:
        return conversation(session, tenant, conv_id, "conversation"), None
    if body.previous_response_id:
        prev = get_owned(session, RunRecord, tenant, body.previous_response_id, "response",
                         "previous_response_id")
        if prev.face != FACE or not (prev.face_data or {}).get("store", True):
            raise not_found("response", body.previous_response_id, "previous_response_id")
        return None, prev
    return None, None


def _copy_history(session: Session, tenant: str, prev: RunRecord,
                  thread: ThreadRecord) -> None:
    """The previous response's thread up to its answer, copied into a new private thread."""
    last = session.exec(select(MessageRecord.seq).where(
        MessageRecord.thread_id == prev.thread_id,
        (col(MessageRecord.run_id) == prev.id) | col(MessageRecord.id).in_(
            (prev.face_data or {}).get("input", [])),
    ).order_by(col(MessageRecord.seq).desc())).first()
    if last is None:
        return
    history = session.exec(select(MessageRecord).where(
        MessageRecord.thread_id == prev.thread_id, col(MessageRecord.seq) <= last,
    ).order_by(col(MessageRecord.seq))).all()
    copies = [MessageRecord(
        id=new_id("message"), tenant=tenant, created_at=m.created_at, thread_id=thread.id,
        role=m.role, content=m.content, attachments=m.attachments, status=m.status,
        completed_at=m.completed_at, run_id=m.run_id) for m in history]
    if copies:
        insert(session, *copies)


def create(session: Session, tenant: str, body: CreateResponse) -> RunRecord:
    """POST /v1/responses: the input as messages, then a queued run of this face."""
    if not body.model:
        raise InvalidRequest("Missing required parameter: 'model'.", param="model")
    store = body.store is not False
    if body.background and not store:
        raise InvalidRequest("Background responses must be stored: 'store' cannot be false"
                             " with 'background' true.", param="store")
    if body.stream_options is not None and not body.stream:
        raise InvalidRequest("'stream_options' is only allowed when 'stream' is true.",
                             param="stream_options")
    for i, name in enumerate(body.include or []):
        if name not in INCLUDES:
            raise InvalidRequest(f"Invalid value: '{name}'.", param=f"include[{i}]")
    thread, prev = _context(session, tenant, body)
    tools = _engine_tools(session, tenant, body.tools, prev, thread)
    tool_choice = _engine_choice(body.tool_choice, tools)
    response_format = _chat_format(body.text)
    if thread is None:
        thread = ThreadRecord(id=new_id("thread"), tenant=tenant, private=True)
        insert(session, thread)
        if prev is not None:
            _copy_history(session, tenant, prev, thread)
    added = new_messages(session, tenant, thread, body.input, "input")
    if not added and prev is None and not body.conversation:
        raise InvalidRequest("Missing required parameter: 'input'.", param="input")
    _check_calls_answered(session, thread)
    created = now()
    run = RunRecord(
        id=new_id("response"), tenant=tenant, created_at=created, thread_id=thread.id,
        assistant_id="", status=RunStatus.QUEUED.value, model=body.model,
        instructions=body.instructions or "", tools=tools, meta=body.metadata,
        temperature=body.temperature, top_p=body.top_p,
        max_completion_tokens=body.max_output_tokens, tool_choice=tool_choice,
        parallel_tool_calls=body.parallel_tool_calls is not False,
        response_format=response_format,
        reasoning_effort=(body.reasoning or {}).get("effort"),
        expires_at=created + get_settings().run_expiry_seconds, stream=bool(body.stream),
        updated_at=time.time(), face=FACE, end_on_function_calls=True,
        max_tool_calls=body.max_tool_calls,
        face_data={
            "tools": body.tools or [], "tool_choice": body.tool_choice,
            "store": store, "background": bool(body.background),
            "previous_response_id": body.previous_response_id,
            "conversation": None if thread.private else thread.id,
            "input": [m.id for m in added], "text": body.text, "include": body.include,
            "truncation": body.truncation, "max_tool_calls": body.max_tool_calls,
            "user": body.user, "safety_identifier": body.safety_identifier,
            "prompt_cache_key": body.prompt_cache_key,
            # someone waits for the end: a plain create, or a stream
            "waited": not body.background or bool(body.stream),
        })
    engine_runs.insert_queued(session, run)
    engine_runs.announce(session, run)
    return run


def cancel(session: Session, tenant: str, response_id: str) -> RunRecord:
    """Only a background response can be cancelled; a finished one is returned as it is."""
    run = get(session, tenant, response_id)
    if not (run.face_data or {}).get("background"):
        raise InvalidRequest("Only responses created with background=true can be cancelled.",
                             param="response_id")
    if run.status in (RunStatus.QUEUED.value, RunStatus.IN_PROGRESS.value) and not (
            engine_runs.request_cancel(session, run)):
        session.refresh(run)  # it changed under us: cancel what it is now
        return cancel(session, tenant, response_id)
    return run


def delete(session: Session, tenant: str, response_id: str) -> None:
    """Remove a response; a private thread goes with it, a conversation keeps its items."""
    run = get(session, tenant, response_id)
    drop(session, run)


def drop_unstored(session: Session, tenant: str, response_id: str) -> None:
    """Remove a store=false response once it has been answered."""
    run = get_owned(session, RunRecord, tenant, response_id, "response")
    if run.face == FACE and not (run.face_data or {}).get("store", True):
        drop(session, run)


def drop(session: Session, run: RunRecord) -> None:
    """Remove the run and, when it had one, its private thread with its messages."""
    thread = session.exec(select(ThreadRecord).where(ThreadRecord.id == run.thread_id)).first()
    session.delete(run)
    if thread is not None and thread.private:
        session.exec(sql_delete(MessageRecord).where(
            col(MessageRecord.thread_id) == thread.id))
        session.delete(thread)
    session.flush()


def input_tokens(session: Session, tenant: str, body: InputTokens) -> int:
    """An estimate of the tokens a response with this input would read (4 characters each)."""
    thread, prev = _context(session, tenant, body)
    texts: list[str] = [body.instructions or ""]
    source = thread.id if thread is not None else prev.thread_id if prev is not None else None
    if source is not None:
        texts += [message_text(m.content) for m in session.exec(select(MessageRecord).where(
            MessageRecord.thread_id == source)).all()]
    if isinstance(body.input, str):
        texts.append(body.input)
    else:
        for i, entry in enumerate(body.input or []):
            texts.append(message_text(message_input(entry, f"input[{i}]")[1]))
    return sum(estimate_tokens(t) for t in texts if t)
