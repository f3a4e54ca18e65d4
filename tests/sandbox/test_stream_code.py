"""A streamed code-interpreter run as the SDK's event handler sees it (real sandbox)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import openai
import pytest
from openai import AssistantEventHandler

from tests.sandbox.conftest import SandboxStack

# Quotes, backslashes, a tab, non-ASCII and an emoji: JSON escapes the model's fragments split.
CODE = ('word = "h\u00e9llo \\"quoted\\"\\tend \U0001F600"\nprint(word)\n'
        'for i in range(3):\n    print(i, "\\\\" * i)')


class DocumentedHandler(AssistantEventHandler):
    """OpenAI's streaming quick-start handler, verbatim, plus a record of what it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.created: list[Any] = []
        self.code_deltas: list[Any] = []

    def on_text_created(self, text: Any) -> None:
        print("\nassistant > ", end="", flush=True)

    def on_text_delta(self, delta: Any, snapshot: Any) -> None:
        print(delta.value, end="", flush=True)

    def on_tool_call_created(self, tool_call: Any) -> None:
        self.created.append(tool_call)
        print(f"\nassistant > {tool_call.type}\n", flush=True)

    def on_tool_call_delta(self, delta: Any, snapshot: Any) -> None:
        if delta.type == "code_interpreter":
            self.code_deltas.append(delta)
            if delta.code_interpreter.input:
                print(delta.code_interpreter.input, end="", flush=True)
            if delta.code_interpreter.outputs:
                print("\n\noutput >", flush=True)
                for output in delta.code_interpreter.outputs:
                    if output.type == "logs":
                        print(f"\n{output.logs}", flush=True)


def _script(st: Any, code: str, answer: str, chunk: int | None = None) -> str:
    marker = "stream-code-" + uuid.uuid4().hex[:8]
    reply: dict[str, Any] = {"tool_calls": [{"name": "code_interpreter",
                                             "arguments": json.dumps({"code": code})}]}
    if chunk:
        reply["arguments_chunk"] = chunk
    st.model.script({"match": marker, "on": "user", "times": 1, "reply": reply},
                    {"match": marker, "on": "tool", "times": 1, "reply": {"content": answer}})
    return marker


def test_documented_handler_prints_the_streamed_code_and_its_output(
        sdk: openai.OpenAI, sandboxed: SandboxStack, tutor: Any,
        capsys: pytest.CaptureFixture[str]) -> None:
    marker = _script(sandboxed.st, CODE, "Done.", chunk=1)  # one JSON character a fragment
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": marker}])
    handler = DocumentedHandler()
    with sdk.beta.threads.runs.stream(thread_id=thread.id, assistant_id=tutor.id,
                                      event_handler=handler) as stream:
        stream.until_done()
    assert stream.get_final_run().status == "completed", sandboxed.log()
    printed = capsys.readouterr().out
    assert [c.type for c in handler.created] == ["code_interpreter"]
    assert handler.created[0].code_interpreter.input == ""
    # the unguarded form prints the code exactly too (no "None" from the outputs delta)
    assert "".join(str(d.code_interpreter.input) for d in handler.code_deltas) == CODE
    logs = 'h\u00e9llo "quoted"\tend \U0001F600\n0 \n1 \\\n2 \\\\\n'
    expected = (f"\nassistant > code_interpreter\n\n{CODE}\n\noutput >\n\n{logs}\n"
                "\nassistant > Done.")
    assert printed == expected
    step = sdk.beta.threads.runs.steps.list(thread_id=thread.id, run_id=stream.get_final_run().id,
                                            order="asc").data[0]
    assert step.step_details.tool_calls[0].code_interpreter.input == CODE  # type: ignore[union-attr]


class FigureHandler(AssistantEventHandler):
    """Records image and text parts as the SDK closes them, and the code outputs."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.texts: list[str] = []
        self.outputs: list[Any] = []

    def on_image_file_done(self, image_file: Any) -> None:
        self.images.append(image_file.file_id)

    def on_text_done(self, text: Any) -> None:
        self.texts.append(text.value)

    def on_tool_call_delta(self, delta: Any, snapshot: Any) -> None:
        if delta.type == "code_interpreter":
            self.outputs += delta.code_interpreter.outputs or []


def test_streamed_answer_after_a_figure_has_the_final_parts(
        sdk: openai.OpenAI, sandboxed: SandboxStack, tutor: Any) -> None:
    code = "import matplotlib.pyplot as plt\nplt.plot([0, 1, 2], [3, 1, 2])\nplt.show()"
    marker = _script(sandboxed.st, code, "Here is the plot.")
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": marker}])
    handler = FigureHandler()
    with sdk.beta.threads.runs.stream(thread_id=thread.id, assistant_id=tutor.id,
                                      event_handler=handler) as stream:
        stream.until_done()
        answer = stream.get_final_messages()[-1]
    assert stream.get_final_run().status == "completed", sandboxed.log()
    figure = [o.image.file_id for o in handler.outputs if o.type == "image"]
    assert len(figure) == 1  # the image output came in the outputs delta
    assert [p.type for p in answer.content] == ["image_file", "text"]
    assert handler.images == figure == [answer.content[0].image_file.file_id]  # type: ignore[union-attr]
    assert handler.texts == ["Here is the plot."]


NODE_SDK = Path(__file__).resolve().parents[1] / "sdk_node"


def test_node_sdk_sees_a_typed_code_interpreter_call(sdk: openai.OpenAI,
                                                     sandboxed: SandboxStack,
                                                     tutor: Any) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (external resource missing)")
    if not (NODE_SDK / "node_modules" / "openai").is_dir():
        pytest.fail(f"the node SDK is not installed in {NODE_SDK}: run `make install`")
    marker = _script(sandboxed.st, CODE, "Done.", chunk=3)
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": marker}])
    api = sandboxed.st.api
    proc = subprocess.run(
        [node, str(NODE_SDK / "stream_run.mjs")], cwd=NODE_SDK, capture_output=True, text=True,
        timeout=120, env={**os.environ, "BASE_URL": api.base_url, "API_KEY": api.keys[0],
                          "THREAD_ID": thread.id, "ASSISTANT_ID": tutor.id})
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["status"] == "completed", sandboxed.log()
    assert seen["created"] == [{"type": "code_interpreter", "input": ""}]
    assert set(seen["deltaTypes"]) == {"code_interpreter"}
    assert seen["input"] == seen["recordedInput"] == CODE
    assert seen["logs"] == ['h\u00e9llo "quoted"\tend \U0001F600\n0 \n1 \\\n2 \\\\\n']


def test_words_before_a_second_cell_follow_the_first_cells_figure(
        sdk: openai.OpenAI, sandboxed: SandboxStack, tutor: Any) -> None:
    plot = "import matplotlib.pyplot as plt\nplt.plot([0, 1], [1, 0])\nplt.show()"
    marker = "two-cells-" + uuid.uuid4().hex[:8]
    sandboxed.st.model.script(
        {"match": marker, "on": "user", "times": 1, "reply": {"tool_calls": [
            {"name": "code_interpreter", "arguments": json.dumps({"code": plot})}]}},
        {"match": marker, "on": "tool", "times": 1, "reply": {
            "content": "Now the sum.", "tool_calls": [
                {"name": "code_interpreter", "arguments": json.dumps({"code": "print(1 + 2)"})}]}},
        {"match": marker, "on": "tool", "times": 1, "reply": {"content": "All done."}})
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": marker}])
    handler = FigureHandler()
    with sdk.beta.threads.runs.stream(thread_id=thread.id, assistant_id=tutor.id,
                                      event_handler=handler) as stream:
        stream.until_done()
        streamed = stream.get_final_messages()
    assert stream.get_final_run().status == "completed", sandboxed.log()
    # (the SDK closes a message's last part again when the next message starts at index 0)
    assert set(handler.texts) == {"Now the sum.", "All done."}
    listed = sdk.beta.threads.messages.list(thread_id=thread.id, order="asc").data[1:]
    assert [[p.type for p in m.content] for m in listed] == [["image_file", "text"]] * 2
    assert [m.model_dump() for m in streamed] == [m.model_dump() for m in listed]


class LinkHandler(AssistantEventHandler):
    """The annotations the text deltas carry, and the text snapshot they build."""

    def __init__(self) -> None:
        super().__init__()
        self.annotations: list[Any] = []
        self.snapshot: Any = None

    def on_text_delta(self, delta: Any, snapshot: Any) -> None:
        self.annotations += delta.annotations or []
        self.snapshot = snapshot.model_copy(deep=True)


def test_file_path_links_stream_in_text_deltas(sdk: openai.OpenAI, sandboxed: SandboxStack,
                                               tutor: Any) -> None:
    code = "open('/mnt/data/out.txt', 'w').write('streamed file')"
    marker = _script(sandboxed.st, code, "Get it: [out](sandbox:/mnt/data/out.txt)")
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": marker}])
    handler = LinkHandler()
    with sdk.beta.threads.runs.stream(thread_id=thread.id, assistant_id=tutor.id,
                                      event_handler=handler) as stream:
        stream.until_done()
        final = stream.get_final_messages()[-1].content[-1].text  # type: ignore[union-attr]
    assert [a.type for a in final.annotations] == ["file_path"]
    link = final.annotations[0]
    assert [(a.index, a.type, a.text, a.start_index, a.end_index, a.file_path.file_id)
            for a in handler.annotations] == [
        (0, "file_path", "sandbox:/mnt/data/out.txt", link.start_index, link.end_index,
         link.file_path.file_id)]  # type: ignore[union-attr]
    assert handler.snapshot.value[link.start_index:link.end_index] == link.text
    assert sdk.files.content(link.file_path.file_id).read() == b"streamed file"  # type: ignore[union-attr]
