"""The code interpreter through the Responses API and containers (official SDK, real sandbox):
files the code writes become container files, the answer cites them, a container keeps its
session across responses, and the stream shows the code_interpreter_call events."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import openai

from tests.sandbox.conftest import SandboxStack

MODEL = "scripted-model"
AUTO = {"type": "code_interpreter", "container": {"type": "auto"}}
CSV = b"city,population\nOslo,709000\nBergen,291000\n"
WRITE_CSV = (f"data = {CSV!r}\nwith open('/mnt/data/cities.csv', 'wb') as f:\n"
             "    f.write(data)\nprint('wrote', len(data), 'bytes')")
LINK = "sandbox:/mnt/data/cities.csv"


def _script(box: SandboxStack, code: str, answer: str = "{tool}",
            chunk: int | None = None) -> str:
    """A fresh marker the model answers with a code_interpreter call, then `answer`."""
    marker = "resp-code-" + uuid.uuid4().hex[:10]
    reply: dict[str, Any] = {"tool_calls": [{"name": "code_interpreter",
                                             "arguments": json.dumps({"code": code})}]}
    if chunk:
        reply["arguments_chunk"] = chunk
    box.st.model.script({"match": marker, "on": "user", "times": 1, "reply": reply},
                        {"match": marker, "on": "tool", "times": 1,
                         "reply": {"content": answer}})
    return marker


def _logs(call: Any) -> str:
    return "\n".join(o.logs for o in call.outputs or [] if o.type == "logs")


def test_a_written_csv_is_a_container_file_the_answer_cites(
        sdk: openai.OpenAI, sandboxed: SandboxStack) -> None:
    marker = _script(sandboxed, WRITE_CSV, f"Here is the table: [cities.csv]({LINK}).")
    r = sdk.responses.create(model=MODEL, input=marker, tools=[AUTO],
                             include=["code_interpreter_call.outputs"])
    assert r.status == "completed", (r.error, sandboxed.log())
    assert [i.type for i in r.output] == ["code_interpreter_call", "message"]
    call, answer = r.output
    assert call.code == WRITE_CSV and call.status == "completed"
    assert call.container_id.startswith("cntr_")
    assert f"wrote {len(CSV)} bytes" in _logs(call)  # outputs, as included
    files = sdk.containers.files.list(call.container_id).data
    assert [(f.path, f.source, f.bytes) for f in files] == [
        ("/mnt/data/cities.csv", "assistant", len(CSV))]
    assert sdk.containers.files.content.retrieve(
        files[0].id, container_id=call.container_id).read() == CSV
    text = answer.content[0]
    [cite] = text.annotations
    assert cite.type == "container_file_citation"
    assert (cite.container_id, cite.file_id, cite.filename) == (
        call.container_id, files[0].id, "cities.csv")
    assert text.text[cite.start_index:cite.end_index] == LINK
    plain = sdk.responses.retrieve(r.id)
    assert plain.output[0].outputs is None  # outputs only when included
    assert _logs(sdk.responses.retrieve(r.id, include=["code_interpreter_call.outputs"])
                 .output[0]).startswith("wrote")
    assert sdk.containers.retrieve(call.container_id).status == "running"


def test_a_container_keeps_its_variables_and_files_across_responses(
        sdk: openai.OpenAI, sandboxed: SandboxStack) -> None:
    container = sdk.containers.create(name="session")
    upload = sdk.containers.files.create(container.id, file=("seed.txt", b"41"))
    assert upload.path == "/mnt/data/seed.txt" and upload.source == "user"
    tool = {"type": "code_interpreter", "container": container.id}
    first = sdk.responses.create(
        model=MODEL, tools=[tool], include=["code_interpreter_call.outputs"],
        input=_script(sandboxed, WRITE_CSV + "\nsecret = int(open('/mnt/data/seed.txt')"
                                             ".read())"))
    assert first.status == "completed", (first.error, sandboxed.log())
    assert first.output[0].container_id == container.id
    marker = _script(sandboxed, "print(secret + 1, open('/mnt/data/cities.csv').read()"
                                ".count('\\n'))")
    second = sdk.responses.create(model=MODEL, tools=[tool], input=marker,
                                  include=["code_interpreter_call.outputs"])
    assert second.status == "completed", (second.error, sandboxed.log())
    assert _logs(second.output[0]).strip() == "42 3"
    # The files it was given back are not reported as written by this code.
    told = [b["messages"][-1] for b in sandboxed.st.model.requests()
            if marker in json.dumps(b["messages"]) and b["messages"][-1]["role"] == "tool"]
    assert told and "file written" not in told[-1]["content"]
    # Continuing the first response with an auto container reuses its container.
    third = sdk.responses.create(
        model=MODEL, previous_response_id=first.id, tools=[AUTO],
        include=["code_interpreter_call.outputs"],
        input=_script(sandboxed, "print(secret * 2)"))
    assert third.output[0].container_id == container.id and "82" in _logs(third.output[0])
    paths = sorted(f.path for f in sdk.containers.files.list(container.id).data)
    assert paths == ["/mnt/data/cities.csv", "/mnt/data/seed.txt"]  # no copies of inputs
    fresh = sdk.responses.create(model=MODEL, tools=[AUTO],
                                 include=["code_interpreter_call.outputs"],
                                 input=_script(sandboxed, "print(secret)"))
    assert fresh.output[0].container_id != container.id
    assert "NameError" in _logs(fresh.output[0])


def test_streamed_code_interpreter_events(sdk: openai.OpenAI, sandboxed: SandboxStack) -> None:
    code = "total = sum(range(10))\nprint('total', total)"
    marker = _script(sandboxed, code, "The total is 45.", chunk=4)
    with sdk.responses.stream(model=MODEL, input=marker, tools=[AUTO],
                              include=["code_interpreter_call.outputs"]) as s:
        events = list(s)
        final = s.get_final_response()
    assert final.status == "completed", sandboxed.log()
    assert [e.sequence_number for e in events] == list(range(len(events)))
    call, answer = final.output
    code_events = [e for e in events if getattr(e, "item_id", None) == call.id
                   or getattr(getattr(e, "item", None), "id", None) == call.id]
    kinds = [e.type for e in code_events]
    deltas = kinds.count("response.code_interpreter_call_code.delta")
    assert deltas > 1
    assert kinds == ["response.output_item.added", "response.code_interpreter_call.in_progress",
                     *["response.code_interpreter_call_code.delta"] * deltas,
                     "response.code_interpreter_call_code.done",
                     "response.code_interpreter_call.interpreting",
                     "response.code_interpreter_call.completed", "response.output_item.done"]
    added, done = code_events[0], code_events[-1]
    assert added.item.type == "code_interpreter_call" and added.item.status == "in_progress"
    assert added.output_index == 0 and done.output_index == 0
    assert "".join(e.delta for e in code_events if e.type.endswith("code.delta")) == code
    assert code_events[-4].code == code == call.code
    assert "total 45" in _logs(done.item) and done.item.container_id == call.container_id
    message_added = next(e for e in events if e.type == "response.output_item.added"
                         and e.item.type == "message")
    assert message_added.output_index == 1
    assert events.index(message_added) > events.index(done)
    assert answer.content[0].text == "The total is 45." and events[-1].type == (
        "response.completed")


def test_a_figure_is_an_image_output_not_a_part_of_the_answer(
        sdk: openai.OpenAI, sandboxed: SandboxStack) -> None:
    code = "import matplotlib.pyplot as plt\nplt.plot([0, 1], [1, 0])\nplt.show()"
    r = sdk.responses.create(model=MODEL, tools=[AUTO], include=[
        "code_interpreter_call.outputs"], input=_script(sandboxed, code, "A falling line."))
    assert r.status == "completed", (r.error, sandboxed.log())
    call, answer = r.output
    [image] = [o for o in call.outputs if o.type == "image"]
    assert image.url.startswith("data:image/png;base64,")
    assert base64.b64decode(image.url.split(",", 1)[1]).startswith(b"\x89PNG")
    assert [p.type for p in answer.content] == ["output_text"]
    assert answer.content[0].text == "A falling line."


def test_responses_of_a_conversation_share_their_auto_container(
        sdk: openai.OpenAI, sandboxed: SandboxStack) -> None:
    conv = sdk.conversations.create()
    first = sdk.responses.create(model=MODEL, tools=[AUTO], conversation=conv.id,
                                 input=_script(sandboxed, "counter = 7"))
    second = sdk.responses.create(model=MODEL, tools=[AUTO], conversation=conv.id,
                                  include=["code_interpreter_call.outputs"],
                                  input=_script(sandboxed, "print(counter * 6)"))
    assert second.status == "completed", (second.error, sandboxed.log())
    assert second.output[0].container_id == first.output[0].container_id
    assert _logs(second.output[0]).strip() == "42"
