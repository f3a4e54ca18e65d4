"""Scenarios for the last v1 client, run INSIDE .venv-sdk1 (openai==1.20.0, httpx<0.28).

Usage: BASE_URL=http://127.0.0.1:PORT/v1 API_KEY=sk-... python scenarios.py <scenario>

Every client is built with `_strict_response_validation=True`, so each response is validated
against the 1.20.0 pydantic models (a missing `file_ids`, a wrong literal, ... raises
`APIResponseValidationError` and the script exits non-zero with the traceback on stderr).
Expected API errors are caught and reported. The last line of stdout is one JSON object that
tests/api/test_sdk_v1.py asserts on. This file must not import anything from the project.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Callable
from typing import Any

import httpx
import openai
from openai import AssistantEventHandler, OpenAI

QUICKSTART = {
    "name": "Math Tutor",
    "instructions": "You are a personal math tutor. Write and run code to answer math questions.",
    "tools": [{"type": "code_interpreter"}],
    "model": "gpt-4-1106-preview",
}
QUESTION = "I need to solve the equation `3x + 11 = 14`. Can you help me?"


class Recorder:
    """httpx event hooks: every request's method, path, query, beta header, status, list size."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def on_response(self, response: httpx.Response) -> None:
        response.read()
        req = response.request
        entry: dict[str, Any] = {
            "method": req.method,
            "path": req.url.path,
            "params": dict(req.url.params),
            "beta": req.headers.get("OpenAI-Beta"),
            "status": response.status_code,
        }
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("object") == "list":
            entry["count"] = len(body.get("data") or [])
            entry["has_more"] = body.get("has_more")
            entry["last_id"] = body.get("last_id")
        self.calls.append(entry)


def make_client() -> tuple[OpenAI, Recorder]:
    """The strict v1 client plus the recorder of what it sent."""
    rec = Recorder()
    http = httpx.Client(timeout=30, event_hooks={"response": [rec.on_response]})
    client = OpenAI(
        base_url=os.environ["BASE_URL"],
        api_key=os.environ["API_KEY"],
        max_retries=0,
        _strict_response_validation=True,
        http_client=http,
    )
    return client, rec


def raw(response: Any) -> tuple[Any, Any]:
    """(strictly parsed model, raw JSON) of a `.with_raw_response` call."""
    return response.parse(), response.http_response.json()


def expect_error(call: Callable[[], Any]) -> dict[str, Any]:
    """Run a call that should fail; report the exception class, status and error body."""
    try:
        result = call()
    except openai.APIStatusError as exc:
        return {"exc": type(exc).__name__, "status": exc.status_code, "body": exc.body}
    return {"exc": None, "result": repr(result)[:300]}


def betas(rec: Recorder) -> list[str | None]:
    """The distinct OpenAI-Beta header values sent to /assistants and /threads."""
    seen = {c["beta"] for c in rec.calls
            if "/assistants" in c["path"] or "/threads" in c["path"]}
    return sorted(seen, key=str)


# ---------------------------------------------------------------------------------------------


def quickstart() -> dict[str, Any]:
    """The original v1 quick-start, with raw JSON of every object."""
    client, rec = make_client()
    asst, asst_raw = raw(client.beta.assistants.with_raw_response.create(**QUICKSTART))
    thread, thread_raw = raw(client.beta.threads.with_raw_response.create())
    msg, msg_raw = raw(client.beta.threads.messages.with_raw_response.create(
        thread_id=thread.id, role="user", content=QUESTION))
    page, list_raw = raw(client.beta.threads.messages.with_raw_response.list(thread_id=thread.id))
    listed = [m.id for m in client.beta.threads.messages.list(thread_id=thread.id)]
    retrieved = client.beta.assistants.retrieve(asst.id)
    return {
        "assistant": asst_raw,
        "assistant_parsed": {"id": asst.id, "tools": [t.type for t in asst.tools],
                             "file_ids": asst.file_ids},
        "assistant_retrieved": retrieved.model_dump(mode="json"),
        "thread": thread_raw,
        "message": msg_raw,
        "message_parsed": {"id": msg.id, "role": msg.role, "status": msg.status,
                           "text": msg.content[0].text.value,  # type: ignore[union-attr]
                           "file_ids": msg.file_ids},
        "list": list_raw,
        "list_parsed_ids": [m.id for m in page.data],
        "listed_ids": listed,
        "betas": betas(rec),
    }


def retrieval() -> dict[str, Any]:
    """A v1 `retrieval` tool assistant; `file_search` is v2's name and is refused under v1."""
    client, rec = make_client()
    asst, created = raw(client.beta.assistants.with_raw_response.create(
        model="gpt-4-turbo", name="Searcher",
        tools=[{"type": "retrieval"}, {"type": "code_interpreter"},
               {"type": "function", "function": {
                   "name": "lookup", "description": "look something up",
                   "parameters": {"type": "object",
                                  "properties": {"q": {"type": "string"}}}}}]))
    _, retrieved = raw(client.beta.assistants.with_raw_response.retrieve(asst.id))
    listed = [a.id for a in client.beta.assistants.list(limit=100)]
    file_search = expect_error(lambda: client.beta.assistants.create(
        model="m", tools=[{"type": "file_search"}]))  # type: ignore[list-item]
    updated = client.beta.assistants.update(asst.id, tools=[{"type": "retrieval"}])
    return {"created": created, "retrieved": retrieved, "in_list": asst.id in listed,
            "parsed_tools": [t.type for t in asst.tools], "file_search": file_search,
            "updated_tools": [t.type for t in updated.tools], "betas": betas(rec)}


def paging() -> dict[str, Any]:
    """1.20.0 auto-paging: it stops only on an EMPTY page, never on has_more."""
    client, rec = make_client()
    batch = secrets.token_hex(4)
    created = [client.beta.assistants.create(model="m", name=f"page-{i}",
                                             metadata={"batch": batch}).id for i in range(5)]
    rec.calls.clear()
    asc = [a.id for a in client.beta.assistants.list(limit=2, order="asc")]
    asc_calls = list(rec.calls)
    rec.calls.clear()
    desc = [a.id for a in client.beta.assistants.list(limit=3)]
    desc_calls = list(rec.calls)
    return {"created": created, "asc": asc, "asc_calls": asc_calls, "desc": desc,
            "desc_calls": desc_calls}


def update_delete() -> dict[str, Any]:
    """Update (only sent fields change), delete, then 404."""
    client, _ = make_client()
    asst = client.beta.assistants.create(model="gpt-4", name="before", description="d",
                                         metadata={"k": "v"})
    _, updated_raw = raw(client.beta.assistants.with_raw_response.update(
        asst.id, name="after", instructions="Be brief.", metadata={"k": "w", "x": "y"},
        tools=[{"type": "retrieval"}]))
    model_only = client.beta.assistants.update(asst.id, model="gpt-4-turbo")
    retrieved = client.beta.assistants.retrieve(asst.id)
    deleted, deleted_raw = raw(client.beta.assistants.with_raw_response.delete(asst.id))
    return {
        "id": asst.id,
        "updated": updated_raw,
        "model_only": model_only.model_dump(mode="json"),
        "retrieved": retrieved.model_dump(mode="json"),
        "deleted": deleted_raw,
        "deleted_parsed": {"id": deleted.id, "deleted": deleted.deleted,
                           "object": deleted.object},
        "retrieve_after": expect_error(lambda: client.beta.assistants.retrieve(asst.id)),
        "delete_again": expect_error(lambda: client.beta.assistants.delete(asst.id)),
    }


def assistant_files() -> dict[str, Any]:
    """files.create + v1 assistants.files create/list/retrieve/delete."""
    client, rec = make_client()
    f1, f1_raw = raw(client.files.with_raw_response.create(
        file=("notes.txt", b"the answer is 42\n"), purpose="assistants"))
    f2 = client.files.create(file=("more.md", b"# more notes\n"), purpose="assistants")
    f3 = client.files.create(file=("third.csv", b"a,b\n1,2\n"), purpose="assistants")
    asst, asst_raw = raw(client.beta.assistants.with_raw_response.create(
        model="gpt-4-turbo", tools=[{"type": "retrieval"}], file_ids=[f1.id]))
    attached, attached_raw = raw(client.beta.assistants.files.with_raw_response.create(
        asst.id, file_id=f2.id))
    again = client.beta.assistants.files.create(asst.id, file_id=f2.id)
    client.beta.assistants.files.create(asst.id, file_id=f3.id)
    _, list_raw = raw(client.beta.assistants.files.with_raw_response.list(asst.id))
    listed = [f.id for f in client.beta.assistants.files.list(asst.id, limit=1, order="asc")]
    list_calls = [c for c in rec.calls if c["path"].endswith(f"{asst.id}/files")]
    _, got_raw = raw(client.beta.assistants.files.with_raw_response.retrieve(
        f2.id, assistant_id=asst.id))
    file_ids_before = client.beta.assistants.retrieve(asst.id).file_ids
    _, deleted_raw = raw(client.beta.assistants.files.with_raw_response.delete(
        f2.id, assistant_id=asst.id))
    file_ids_after = client.beta.assistants.retrieve(asst.id).file_ids
    listed_after = [f.id for f in client.beta.assistants.files.list(asst.id, order="asc")]
    return {
        "file_ids": [f1.id, f2.id, f3.id],
        "file": f1_raw,
        "assistant": asst_raw,
        "attached": attached_raw,
        "attached_parsed": {"id": attached.id, "assistant_id": attached.assistant_id},
        "attach_again": again.model_dump(mode="json"),
        "list": list_raw,
        "listed_limit1_asc": listed,
        "list_calls": [{k: c.get(k) for k in ("params", "count", "status")} for c in list_calls],
        "retrieved": got_raw,
        "file_ids_before": file_ids_before,
        "deleted": deleted_raw,
        "file_ids_after": file_ids_after,
        "listed_after": listed_after,
        "retrieve_after": expect_error(lambda: client.beta.assistants.files.retrieve(
            f2.id, assistant_id=asst.id)),
        "attach_unknown": expect_error(lambda: client.beta.assistants.files.create(
            asst.id, file_id="file-doesnotexist")),
        "create_unknown": expect_error(lambda: client.beta.assistants.create(
            model="m", file_ids=["file-doesnotexist"])),
        "file_retrieved": client.files.retrieve(f1.id).model_dump(mode="json"),
    }


def message_files() -> dict[str, Any]:
    """messages.create with file_ids + messages.files list/retrieve; threads.create(messages)."""
    client, rec = make_client()
    f1 = client.files.create(file=("a.txt", b"alpha\n"), purpose="assistants")
    f2 = client.files.create(file=("b.txt", b"beta\n"), purpose="assistants")
    thread = client.beta.threads.create(metadata={"v": "1"})
    msg, msg_raw = raw(client.beta.threads.messages.with_raw_response.create(
        thread_id=thread.id, role="user", content="Please read both files.",
        file_ids=[f1.id, f2.id], metadata={"m": "1"}))
    _, files_raw = raw(client.beta.threads.messages.files.with_raw_response.list(
        msg.id, thread_id=thread.id))
    listed = [f.id for f in client.beta.threads.messages.files.list(
        msg.id, thread_id=thread.id, limit=1, order="asc")]
    _, file_raw = raw(client.beta.threads.messages.files.with_raw_response.retrieve(
        f2.id, thread_id=thread.id, message_id=msg.id))
    retrieved = client.beta.threads.messages.retrieve(msg.id, thread_id=thread.id)
    updated = client.beta.threads.messages.update(msg.id, thread_id=thread.id,
                                                  metadata={"m": "2"})
    seeded = client.beta.threads.create(messages=[
        {"role": "user", "content": "first", "file_ids": [f1.id]},
        {"role": "user", "content": "second"},
    ])
    seeded_msgs = client.beta.threads.messages.list(seeded.id, order="asc").data
    return {
        "file_ids": [f1.id, f2.id],
        "message": msg_raw,
        "files_list": files_raw,
        "listed_limit1_asc": listed,
        "file": file_raw,
        "retrieved": retrieved.model_dump(mode="json"),
        "updated": updated.model_dump(mode="json"),
        "seeded": [{"text": m.content[0].text.value,  # type: ignore[union-attr]
                    "file_ids": m.file_ids, "thread_id": m.thread_id} for m in seeded_msgs],
        "unknown_file": expect_error(lambda: client.beta.threads.messages.files.retrieve(
            "file-doesnotexist", thread_id=thread.id, message_id=msg.id)),
        "create_unknown": expect_error(lambda: client.beta.threads.messages.create(
            thread_id=thread.id, role="user", content="x", file_ids=["file-doesnotexist"])),
        "betas": betas(rec),
    }


def threads() -> dict[str, Any]:
    """threads create/retrieve/update/delete, then 404."""
    client, _ = make_client()
    thread, created = raw(client.beta.threads.with_raw_response.create(metadata={"a": "1"}))
    _, updated = raw(client.beta.threads.with_raw_response.update(
        thread.id, metadata={"a": "2", "b": "3"}))
    retrieved = client.beta.threads.retrieve(thread.id)
    _, deleted = raw(client.beta.threads.with_raw_response.delete(thread.id))
    return {
        "created": created,
        "updated": updated,
        "retrieved": retrieved.model_dump(mode="json"),
        "deleted": deleted,
        "retrieve_after": expect_error(lambda: client.beta.threads.retrieve(thread.id)),
        "messages_after": expect_error(lambda: client.beta.threads.messages.list(thread.id)),
    }


def not_found() -> dict[str, Any]:
    """Unknown ids raise NotFoundError with OpenAI's envelope."""
    client, _ = make_client()
    asst = client.beta.assistants.create(model="m")
    thread = client.beta.threads.create()
    msg = client.beta.threads.messages.create(thread_id=thread.id, role="user", content="hi")
    calls: dict[str, Callable[[], Any]] = {
        "assistants.retrieve": lambda: client.beta.assistants.retrieve("asst_doesnotexist"),
        "assistants.update": lambda: client.beta.assistants.update("asst_doesnotexist",
                                                                   name="x"),
        "assistants.delete": lambda: client.beta.assistants.delete("asst_doesnotexist"),
        "assistants.files.list": lambda: client.beta.assistants.files.list(
            "asst_doesnotexist"),
        "assistants.files.retrieve": lambda: client.beta.assistants.files.retrieve(
            "file-doesnotexist", assistant_id=asst.id),
        "assistants.files.delete": lambda: client.beta.assistants.files.delete(
            "file-doesnotexist", assistant_id=asst.id),
        "threads.retrieve": lambda: client.beta.threads.retrieve("thread_doesnotexist"),
        "threads.update": lambda: client.beta.threads.update("thread_doesnotexist",
                                                             metadata={}),
        "threads.delete": lambda: client.beta.threads.delete("thread_doesnotexist"),
        "messages.create": lambda: client.beta.threads.messages.create(
            thread_id="thread_doesnotexist", role="user", content="x"),
        "messages.list": lambda: client.beta.threads.messages.list("thread_doesnotexist"),
        "messages.retrieve": lambda: client.beta.threads.messages.retrieve(
            "msg_doesnotexist", thread_id=thread.id),
        "messages.files.list": lambda: client.beta.threads.messages.files.list(
            "msg_doesnotexist", thread_id=thread.id),
        "messages.files.retrieve": lambda: client.beta.threads.messages.files.retrieve(
            "file-doesnotexist", thread_id=thread.id, message_id=msg.id),
        "files.retrieve": lambda: client.files.retrieve("file-doesnotexist"),
    }
    return {name: expect_error(call) for name, call in calls.items()}


def runs() -> dict[str, Any]:
    """A v1 run to completion, and a function-calling round trip (needs a worker + model)."""
    client, _ = make_client()
    asst = client.beta.assistants.create(**QUICKSTART)  # type: ignore[arg-type]
    thread = client.beta.threads.create()
    client.beta.threads.messages.create(thread_id=thread.id, role="user", content=QUESTION)
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=asst.id, poll_interval_ms=100,
        instructions="Please address the user as Jane Doe.")
    _, run_json = raw(client.beta.threads.runs.with_raw_response.retrieve(
        run.id, thread_id=thread.id))
    answer = client.beta.threads.messages.list(thread_id=thread.id).data[0]
    steps = client.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id).data
    fn = client.beta.assistants.create(model="m", tools=[{"type": "function", "function": {
        "name": "lookup", "parameters": {"type": "object", "properties": {}}}}])
    t2 = client.beta.threads.create(messages=[{"role": "user", "content": "v1 call lookup"}])
    waiting = client.beta.threads.runs.create_and_poll(thread_id=t2.id, assistant_id=fn.id,
                                                       poll_interval_ms=100)
    call = waiting.required_action.submit_tool_outputs.tool_calls[0]  # type: ignore[union-attr]
    done = client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=waiting.id, thread_id=t2.id, poll_interval_ms=100,
        tool_outputs=[{"tool_call_id": call.id, "output": "found it"}])
    reply = client.beta.threads.messages.list(thread_id=t2.id).data[0]
    return {
        "status": run.status, "run_json": run_json,
        "answer": answer.content[0].text.value, "answer_run_id": answer.run_id,  # type: ignore[union-attr]
        "answer_file_ids": answer.file_ids, "steps": [s.type for s in steps],
        "waiting": waiting.status, "call_name": call.function.name,
        "final": done.status, "reply": reply.content[0].text.value,  # type: ignore[union-attr]
    }


V1_QUESTION = "Which harbour does the Sablewick lighthouse guard?"
V1_MESSAGE_QUESTION = "What is the password of the Orrin gate?"


def _haystack(needle: str, words: int = 20_000) -> bytes:
    """A long text with the needle sentence in the middle."""
    filler = " ".join(f"Line {i} speaks of weather and roads." for i in range(words // 7))
    return f"{filler}\n\n{needle}\n\n{filler}".encode()


def _retrieval_run(client: OpenAI, asst_id: str, question: str,
                   file_ids: list[str] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "user", "content": question}
    if file_ids:
        message["file_ids"] = file_ids
    thread = client.beta.threads.create(messages=[message])  # type: ignore[list-item]
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=asst_id,
                                                   poll_interval_ms=100)
    _, steps = raw(client.beta.threads.runs.steps.with_raw_response.list(
        thread_id=thread.id, run_id=run.id, order="asc"))
    answer, answer_json = raw(client.beta.threads.messages.with_raw_response.list(
        thread_id=thread.id, limit=1))
    text = answer.data[0].content[0].text  # type: ignore[union-attr]
    return {"status": run.status, "last_error": str(run.last_error), "steps": steps["data"],
            "answer": text.value, "annotations": [a.model_dump() for a in text.annotations],
            "answer_json": answer_json["data"][0]}


def retrieval_runs() -> dict[str, Any]:
    """v1 `retrieval` over an assistant's file_ids, then over a message's file_ids."""
    client, _ = make_client()
    kept = client.files.create(file=("guide.txt", _haystack(
        "The Sablewick lighthouse guards the harbour of Port Elmore.")), purpose="assistants")
    sent = client.files.create(file=("gate.txt", _haystack(
        "The password of the Orrin gate is thistledown.")), purpose="assistants")
    asst = client.beta.assistants.create(model="scripted-model", tools=[{"type": "retrieval"}],
                                         file_ids=[kept.id])
    return {"kept": kept.id, "sent": sent.id,
            "assistant": _retrieval_run(client, asst.id, V1_QUESTION),
            "message": _retrieval_run(client, asst.id, V1_MESSAGE_QUESTION, [sent.id])}


V1_STREAM_QUESTION = "Stream me which harbour the Sablewick lighthouse guards"
V1_STREAM_NEEDLE = "The Sablewick lighthouse guards the harbour of Port Elmore."


class StreamRecorder(AssistantEventHandler):
    """What the 1.20 stream helper's callbacks see."""

    def __init__(self) -> None:
        super().__init__()
        self.created: list[str] = []
        self.annotations: list[dict[str, Any]] = []
        self.completed_steps: list[Any] = []
        self.messages: list[dict[str, Any]] = []

    def on_tool_call_created(self, tool_call: Any) -> None:
        self.created.append(tool_call.type)

    def on_text_delta(self, delta: Any, snapshot: Any) -> None:
        self.annotations += [_citation(a) for a in delta.annotations or []]

    def on_run_step_done(self, run_step: Any) -> None:
        self.completed_steps.append(run_step)

    def on_message_done(self, message: Any) -> None:
        self.messages.append(message.model_dump())


def _citation(ann: Any) -> dict[str, Any]:
    dumped = ann.model_dump()
    return {k: dumped[k] for k in ("type", "text", "start_index", "end_index", "file_citation")}


def streams() -> dict[str, Any]:
    """A v1 retrieval run through `runs.stream` with an event handler."""
    client, _ = make_client()
    doc = client.files.create(file=("harbour.txt", _haystack(V1_STREAM_NEEDLE, words=300)),
                              purpose="assistants")
    asst = client.beta.assistants.create(model="scripted-model", tools=[{"type": "retrieval"}],
                                         file_ids=[doc.id])
    thread = client.beta.threads.create(messages=[{"role": "user",
                                                   "content": V1_STREAM_QUESTION}])
    handler = StreamRecorder()
    with client.beta.threads.runs.stream(
            thread_id=thread.id, assistant_id=asst.id, event_handler=handler) as stream:
        stream.until_done()
        final = stream.get_final_run()
        messages = stream.get_final_messages()
    retrieved = client.beta.threads.runs.retrieve(final.id, thread_id=thread.id)
    text = messages[-1].content[0].text  # type: ignore[union-attr]
    return {
        "needle": V1_STREAM_NEEDLE, "file_id": doc.id, "final_status": final.status,
        "final_file_ids": final.file_ids, "retrieved_file_ids": retrieved.file_ids,
        "final_tools": [t.model_dump() for t in final.tools],
        "created_types": handler.created,
        "completed_call_types": [[c.type for c in s.step_details.tool_calls]
                                 if s.step_details.type == "tool_calls" else []
                                 for s in handler.completed_steps],
        "message_file_ids": [m.file_ids for m in messages],
        "message_keys_with_attachments": [m["id"] for m in handler.messages
                                          if "attachments" in m],
        "delta_annotations": handler.annotations,
        "final_annotations": [_citation(a) for a in text.annotations],
    }


SCENARIOS: dict[str, Callable[[], dict[str, Any]]] = {
    f.__name__: f for f in (quickstart, retrieval, paging, update_delete, assistant_files,
                            message_files, threads, not_found, runs, retrieval_runs, streams)
}


def main(argv: list[str]) -> int:
    """Run one scenario and print its JSON result as the last stdout line."""
    if len(argv) != 2 or argv[1] not in SCENARIOS:
        print(f"usage: {argv[0]} {{{','.join(SCENARIOS)}}}", file=sys.stderr)
        return 2
    result = SCENARIOS[argv[1]]()
    result["sdk_version"] = openai.__version__
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
