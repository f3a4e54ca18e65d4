"""The code interpreter end to end: SDK -> API -> run worker -> sandbox worker -> Docker."""

from __future__ import annotations

from typing import Any

import openai

from tests.sandbox.conftest import SandboxStack, logs_of, run_code


def test_quickstart_math_tutor_solves_by_code(sdk: openai.OpenAI, sandboxed: SandboxStack,
                                              tutor: Any) -> None:
    code = "x = (14 - 11) / 3\nprint(f'3x + 11 = 14  =>  x = {x}')"
    run, step, answer = run_code(sdk, sandboxed.st, tutor.id, code,
                                 answer="Solved it: {tool}")
    assert run.status == "completed", (run.last_error, sandboxed.log())
    call = step.step_details.tool_calls[0]
    assert step.status == "completed"
    assert call.type == "code_interpreter" and call.code_interpreter.input == code
    assert "x = 1.0" in logs_of(step)
    assert "x = 1.0" in answer.content[-1].text.value
    sent = sandboxed.st.model.requests()[-1]["messages"]
    assert sent[-1]["role"] == "tool" and "x = 1.0" in sent[-1]["content"]
    assert sent[-2]["tool_calls"][0]["function"]["name"] == "code_interpreter"


def test_state_survives_in_a_thread_and_does_not_leak(sdk: openai.OpenAI,
                                                      sandboxed: SandboxStack,
                                                      tutor: Any) -> None:
    thread = sdk.beta.threads.create()
    run, _, _ = run_code(sdk, sandboxed.st, tutor.id, "secret = 41", thread_id=thread.id)
    assert run.status == "completed", run.last_error
    run, step, _ = run_code(sdk, sandboxed.st, tutor.id, "print(secret + 1)",
                            thread_id=thread.id)
    assert run.status == "completed" and "42" in logs_of(step)
    run, step, _ = run_code(sdk, sandboxed.st, tutor.id, "print(secret)")
    assert run.status == "completed"
    assert "NameError" in logs_of(step)  # the error went back to the model, not a run failure


def test_figure_becomes_a_png_image_output(sdk: openai.OpenAI, sandboxed: SandboxStack,
                                           tutor: Any) -> None:
    code = ("import matplotlib.pyplot as plt\nplt.plot([0, 1, 2], [3, 1, 2])\n"
            "plt.title('line')\nplt.show()")
    run, step, answer = run_code(sdk, sandboxed.st, tutor.id, code, answer="Here is the plot.")
    assert run.status == "completed", run.last_error
    images = [o for o in step.step_details.tool_calls[0].code_interpreter.outputs
              if o.type == "image"]
    assert len(images) == 1
    data = sdk.files.content(images[0].image.file_id).read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000
    assert sdk.files.retrieve(images[0].image.file_id).purpose == "assistants_output"
    parts = [p for p in answer.content if p.type == "image_file"]
    assert parts and parts[0].image_file.file_id == images[0].image.file_id


def test_input_files_are_in_mnt_data(sdk: openai.OpenAI, sandboxed: SandboxStack,
                                     tutor: Any) -> None:
    doc = sdk.files.create(file=("scores.csv", b"name,score\nada,7\nbob,5\n"),
                           purpose="assistants")
    asst = sdk.beta.assistants.create(model="scripted-model", tools=[{"type": "code_interpreter"}],
                                      tool_resources={"code_interpreter": {"file_ids": [doc.id]}})
    code = "import pandas as pd\nprint(pd.read_csv('/mnt/data/scores.csv').score.sum())"
    run, step, _ = run_code(sdk, sandboxed.st, asst.id, code)
    assert run.status == "completed" and "12" in logs_of(step), logs_of(step)
    # A message attachment reaches the sandbox too.
    note = sdk.files.create(file=("note.txt", b"attached words"), purpose="assistants")
    run, step, _ = run_code(sdk, sandboxed.st, tutor.id, "print(open('/mnt/data/note.txt').read())",
                            attachments=[{"file_id": note.id,
                                          "tools": [{"type": "code_interpreter"}]}])
    assert run.status == "completed" and "attached words" in logs_of(step), logs_of(step)


def test_written_files_are_downloadable_and_linked(sdk: openai.OpenAI, sandboxed: SandboxStack,
                                                   tutor: Any) -> None:
    code = ("import pandas as pd\n"
            "pd.DataFrame({'x': [1, 2], 'y': [3, 4]}).to_csv('/mnt/data/table.csv', index=False)")
    run, _, answer = run_code(sdk, sandboxed.st, tutor.id, code,
                              answer="Download it: [table](sandbox:/mnt/data/table.csv)")
    assert run.status == "completed", run.last_error
    text = answer.content[-1].text
    links = [a for a in text.annotations if a.type == "file_path"]
    assert len(links) == 1 and links[0].text == "sandbox:/mnt/data/table.csv"
    assert text.value[links[0].start_index:links[0].end_index] == links[0].text
    body = sdk.files.content(links[0].file_path.file_id).read()
    assert body == b"x,y\n1,3\n2,4\n"
    assert sdk.files.retrieve(links[0].file_path.file_id).filename == "table.csv"


def test_cancel_kills_the_running_cell(sdk: openai.OpenAI, sandboxed: SandboxStack,
                                       tutor: Any) -> None:
    import time

    from tests.sandbox.conftest import start_code_run

    thread, run = start_code_run(sdk, sandboxed.st, tutor.id,
                                 "import time\ntime.sleep(5.5)\nprint('finished')")
    started = time.monotonic()
    sdk.beta.threads.runs.cancel(thread_id=thread.id, run_id=run.id)
    while sdk.beta.threads.runs.retrieve(thread_id=thread.id,
                                         run_id=run.id).status != "cancelled":
        assert time.monotonic() - started < 20
        time.sleep(0.1)
    assert time.monotonic() - started < 4.5  # the cell was interrupted, not waited for
    step = sdk.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id).data[0]
    assert step.status == "cancelled"


def test_pil_image_value_becomes_an_image_output(sdk: openai.OpenAI, sandboxed: SandboxStack,
                                                 tutor: Any) -> None:
    code = "from PIL import Image\nImage.new('RGB', (40, 30), 'red')"
    run, step, _ = run_code(sdk, sandboxed.st, tutor.id, code, answer="A red box.")
    assert run.status == "completed", run.last_error
    out = step.step_details.tool_calls[0].code_interpreter.outputs
    assert [o.type for o in out] == ["image"]
    data = sdk.files.content(out[0].image.file_id).read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"


def test_streamed_run_with_words_before_the_code(sdk: openai.OpenAI, sandboxed: SandboxStack,
                                                 tutor: Any) -> None:
    import json
    import uuid

    marker = "stream-" + uuid.uuid4().hex[:8]
    sandboxed.st.model.script(
        {"match": marker, "on": "user", "times": 1, "reply": {
            "content": "Let me compute that.",
            "tool_calls": [{"name": "code_interpreter",
                            "arguments": json.dumps({"code": "print(2 ** 10)"})}]}},
        {"match": marker, "on": "tool", "times": 1, "reply": {"content": "It is {tool}."}})
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": marker}])
    events = []
    with sdk.beta.threads.runs.stream(thread_id=thread.id, assistant_id=tutor.id) as stream:
        for event in stream:
            events.append(event)
    names = [e.event for e in events]
    assert names[-1] == "thread.run.completed", names
    done_steps = [e.data for e in events if e.event == "thread.run.step.completed"]
    kinds = [s.type for s in done_steps]
    assert kinds == ["message_creation", "tool_calls", "message_creation"], kinds
    call = done_steps[1].step_details.tool_calls[0]
    assert call.type == "code_interpreter" and "1024" in call.code_interpreter.outputs[0].logs
    texts = [m.content[0].text.value for m in sdk.beta.threads.messages.list(
        thread_id=thread.id, order="asc").data if m.role == "assistant"]
    assert texts == ["Let me compute that.", "It is 1024\n."]


def test_v1_message_file_ids_reach_the_sandbox(sdk: openai.OpenAI, sandboxed: SandboxStack,
                                               tutor: Any) -> None:
    import httpx

    from tests.sandbox.conftest import script_code

    doc = sdk.files.create(file=("v1.txt", b"from a v1 client"), purpose="assistants")
    api = sandboxed.st.api
    marker = script_code(sandboxed.st, "print(open('/mnt/data/v1.txt').read())")
    headers = {"Authorization": f"Bearer {api.keys[0]}", "OpenAI-Beta": "assistants=v1"}
    thread = httpx.post(f"{api.base_url}/threads", headers=headers, json={}).json()
    httpx.post(f"{api.base_url}/threads/{thread['id']}/messages", headers=headers,
               json={"role": "user", "content": marker, "file_ids": [doc.id]}).raise_for_status()
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread["id"], assistant_id=tutor.id,
                                                poll_interval_ms=100)
    assert run.status == "completed", run.last_error
    step = next(s for s in sdk.beta.threads.runs.steps.list(thread_id=thread["id"],
                                                            run_id=run.id).data
                if s.type == "tool_calls")
    assert "from a v1 client" in logs_of(step)


def test_code_is_not_run_for_an_assistant_without_the_tool(sdk: openai.OpenAI,
                                                           sandboxed: SandboxStack) -> None:
    plain = sdk.beta.assistants.create(model="scripted-model", tools=[])
    run, step, _ = run_code(sdk, sandboxed.st, plain.id,
                            "open('/mnt/data/ran.txt', 'w').write('ran')")
    assert run.status == "failed" and step is None
    assert "code_interpreter" in run.last_error.message  # type: ignore[union-attr]
