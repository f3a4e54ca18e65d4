"""Runs end to end through the newest SDK: real API, real Celery worker, scripted model."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from openai import AssistantEventHandler

from tests.support.stack import Stack
from tests.workers.conftest import wait_for

QUESTION = "I need to solve the equation `3x + 11 = 14`. Can you help me?"
OVERRIDE = "Please address the user as Jane Doe. The user has a premium account."


def test_quickstart_run_completes_with_override(sdk: openai.OpenAI, pipeline: Stack) -> None:
    asst = sdk.beta.assistants.create(
        name="Math Tutor",
        instructions="You are a personal math tutor. Write and run code to answer math questions.",
        tools=[{"type": "code_interpreter"}], model="gpt-4-1106-preview")
    thread = sdk.beta.threads.create()
    sdk.beta.threads.messages.create(thread_id=thread.id, role="user", content=QUESTION)
    pipeline.model.script({"match": "3x + 11 = 14", "times": 1,
                           "reply": {"content": "Jane Doe, x = 1."}})
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=asst.id,
                                                instructions=OVERRIDE, poll_interval_ms=100)
    assert run.status == "completed", run.last_error
    assert run.instructions == OVERRIDE and run.usage is not None
    assert run.usage.total_tokens == run.usage.prompt_tokens + run.usage.completion_tokens
    assert run.completed_at is not None and run.expires_at is None
    msgs = sdk.beta.threads.messages.list(thread_id=thread.id, order="asc").data
    assert [m.role for m in msgs] == ["user", "assistant"]
    answer = msgs[1]
    assert answer.content[0].text.value == "Jane Doe, x = 1."  # type: ignore[union-attr]
    assert answer.run_id == run.id and answer.assistant_id == asst.id
    steps = sdk.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id).data
    assert len(steps) == 1 and steps[0].type == "message_creation"
    assert steps[0].status == "completed"
    assert steps[0].step_details.message_creation.message_id == answer.id  # type: ignore[union-attr]
    sent = [r for r in pipeline.model.requests() if any(
        QUESTION in str(m.get("content")) for m in r["messages"])][-1]
    assert sent["messages"][0] == {"role": "system", "content": OVERRIDE}
    assert sent["messages"][-1] == {"role": "user", "content": QUESTION}
    assert sent["model"] == "gpt-4-1106-preview"
    assert any(t["function"]["name"] == "code_interpreter" for t in sent["tools"])


def test_additional_instructions_append(sdk: openai.OpenAI, assistant: Any,
                                        pipeline: Stack) -> None:
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "hello addl"}])
    run = sdk.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, additional_instructions="Be brief.",
        poll_interval_ms=100)
    assert run.status == "completed"
    assert run.instructions == "You are helpful.\n\nBe brief."
    sent = [r for r in pipeline.model.requests() if any(
        "hello addl" in str(m.get("content")) for m in r["messages"])][-1]
    assert sent["messages"][0]["content"] == "You are helpful.\n\nBe brief."


WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}


def test_function_calling_round_trip(sdk: openai.OpenAI, pipeline: Stack) -> None:
    asst = sdk.beta.assistants.create(model="m", tools=[WEATHER_TOOL])
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "weather in Paris?"}])
    pipeline.model.script({"match": "weather in Paris?", "times": 1, "reply": {
        "tool_calls": [{"name": "get_weather", "arguments": json.dumps({"city": "Paris"})}]}})
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=asst.id,
                                                poll_interval_ms=100)
    assert run.status == "requires_action"
    calls = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
    assert [c.function.name for c in calls] == ["get_weather"]
    assert json.loads(calls[0].function.arguments) == {"city": "Paris"}
    with pytest.raises(openai.BadRequestError, match="already has an active run"):
        sdk.beta.threads.runs.create(thread_id=thread.id, assistant_id=asst.id)
    with pytest.raises(openai.BadRequestError, match="Can't add messages"):
        sdk.beta.threads.messages.create(thread_id=thread.id, role="user", content="more")
    with pytest.raises(openai.BadRequestError):
        sdk.beta.threads.runs.submit_tool_outputs(
            thread_id=thread.id, run_id=run.id,
            tool_outputs=[{"tool_call_id": "call_unknown", "output": "x"}])
    run = sdk.beta.threads.runs.submit_tool_outputs_and_poll(
        thread_id=thread.id, run_id=run.id, poll_interval_ms=100,
        tool_outputs=[{"tool_call_id": calls[0].id, "output": "22C and sunny"}])
    assert run.status == "completed", run.last_error
    answer = sdk.beta.threads.messages.list(thread_id=thread.id).data[0]
    assert answer.content[0].text.value == "Tool said: 22C and sunny"  # type: ignore[union-attr]
    steps = sdk.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id,
                                             order="asc").data
    assert [s.type for s in steps] == ["tool_calls", "message_creation"]
    call = steps[0].step_details.tool_calls[0]  # type: ignore[union-attr]
    assert call.function.output == "22C and sunny" and steps[0].status == "completed"
    last = pipeline.model.requests()[-1]["messages"]
    assert last[-2]["tool_calls"][0]["function"]["name"] == "get_weather"
    assert last[-1] == {"role": "tool", "tool_call_id": calls[0].id, "content": "22C and sunny"}


class Recorder(AssistantEventHandler):
    """Collects every event and text delta the SDK's stream helper sees."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[str] = []
        self.deltas: list[str] = []

    def on_event(self, event: Any) -> None:
        self.events.append(event.event)

    def on_text_delta(self, delta: Any, snapshot: Any) -> None:
        self.deltas.append(delta.value)


def test_streaming_events_in_openai_order(sdk: openai.OpenAI, assistant: Any,
                                          pipeline: Stack) -> None:
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "stream me"}])
    pipeline.model.script({"match": "stream me", "times": 1,
                           "reply": {"content": "Hello there streaming world"}})
    handler = Recorder()
    with sdk.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id,
                                      event_handler=handler) as stream:
        stream.until_done()
        final = stream.get_final_run()
        messages = stream.get_final_messages()
    assert final.status == "completed"
    assert "".join(handler.deltas) == "Hello there streaming world"
    assert len(handler.deltas) == 4
    assert messages[0].content[0].text.value == "Hello there streaming world"  # type: ignore[union-attr]
    expected = ["thread.run.created", "thread.run.queued", "thread.run.in_progress",
                "thread.run.step.created", "thread.run.step.in_progress",
                "thread.message.created", "thread.message.in_progress"]
    assert handler.events[:7] == expected
    assert handler.events[-3:] == ["thread.message.completed", "thread.run.step.completed",
                                   "thread.run.completed"]
    assert set(handler.events[7:-3]) == {"thread.message.delta"}


def test_create_thread_and_run(sdk: openai.OpenAI, assistant: Any) -> None:
    run = sdk.beta.threads.create_and_run_poll(
        assistant_id=assistant.id, poll_interval_ms=100,
        thread={"messages": [{"role": "user", "content": "one shot"}]})
    assert run.status == "completed"
    msgs = sdk.beta.threads.messages.list(thread_id=run.thread_id).data
    assert msgs[0].content[0].text.value == "Echo: one shot"  # type: ignore[union-attr]


def test_cancel_a_slow_run(sdk: openai.OpenAI, assistant: Any, pipeline: Stack) -> None:
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "slow cancel me"}])
    pipeline.model.script({"match": "slow cancel me", "reply": {"content": "late",
                                                                "delay_ms": 3000}})
    run = sdk.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    wait_for(lambda: sdk.beta.threads.runs.retrieve(run.id, thread_id=thread.id).status
             == "in_progress")
    cancelling = sdk.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    assert cancelling.status == "cancelling"
    final = wait_for(lambda: (r := sdk.beta.threads.runs.retrieve(
        run.id, thread_id=thread.id)).status in ("cancelled", "completed") and r)
    assert final.status == "cancelled" and final.cancelled_at is not None
    msgs = sdk.beta.threads.messages.list(thread_id=thread.id).data
    assert [m.role for m in msgs] == ["user"]
    with pytest.raises(openai.BadRequestError, match="Cannot cancel run"):
        sdk.beta.threads.runs.cancel(run.id, thread_id=thread.id)


def test_max_completion_tokens_makes_run_incomplete(sdk: openai.OpenAI, assistant: Any,
                                                     pipeline: Stack) -> None:
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "ramble on"}])
    pipeline.model.script({"match": "ramble on", "times": 1, "reply": {
        "content": "words words", "finish_reason": "length",
        "usage": {"prompt_tokens": 20, "completion_tokens": 256, "total_tokens": 276}}})
    run = sdk.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, max_completion_tokens=256,
        poll_interval_ms=100)
    assert run.status == "incomplete"
    assert run.incomplete_details.reason == "max_completion_tokens"  # type: ignore[union-attr]
    assert run.usage.completion_tokens == 256  # type: ignore[union-attr]
    msg = sdk.beta.threads.messages.list(thread_id=thread.id).data[0]
    assert msg.status == "incomplete" and msg.incomplete_details.reason == "max_tokens"  # type: ignore[union-attr]
    sent = [r for r in pipeline.model.requests() if any(
        "ramble on" in str(m.get("content")) for m in r["messages"])][-1]
    assert sent["max_completion_tokens"] == 256


def test_builtin_tool_the_run_lacks_fails_clearly(sdk: openai.OpenAI,
                                                   pipeline: Stack) -> None:
    # The model calls code_interpreter although the run offers only file_search: no code runs.
    asst = sdk.beta.assistants.create(model="m", tools=[{"type": "file_search"}])
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "compute it"}])
    pipeline.model.script({"match": "compute it", "times": 1, "reply": {"tool_calls": [
        {"name": "code_interpreter", "arguments": json.dumps({"code": "1+1"})}]}})
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=asst.id,
                                                poll_interval_ms=100)
    assert run.status == "failed"
    assert run.last_error.code == "server_error"  # type: ignore[union-attr]
    assert "code_interpreter" in run.last_error.message  # type: ignore[union-attr]
    assert "does not have enabled" in run.last_error.message  # type: ignore[union-attr]
    assert sdk.beta.threads.runs.create_and_poll(  # the thread is free again
        thread_id=thread.id, assistant_id=asst.id, poll_interval_ms=100,
        tools=[]).status == "completed"


def test_run_options_reach_the_model(sdk: openai.OpenAI, pipeline: Stack) -> None:
    asst = sdk.beta.assistants.create(model="base-model", tools=[WEATHER_TOOL],
                                      temperature=0.3)
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "options check"}])
    run = sdk.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=asst.id, model="override-model", top_p=0.5,
        tool_choice="none", parallel_tool_calls=False, metadata={"k": "v"},
        response_format={"type": "json_object"}, poll_interval_ms=100)
    assert run.status == "completed" and run.model == "override-model"
    assert run.metadata == {"k": "v"} and run.temperature == 0.3 and run.top_p == 0.5
    assert run.tool_choice == "none" and run.parallel_tool_calls is False
    sent = [r for r in pipeline.model.requests() if any(
        "options check" in str(m.get("content")) for m in r["messages"])][-1]
    assert sent["model"] == "override-model" and sent["temperature"] == 0.3
    assert sent["top_p"] == 0.5 and sent["tool_choice"] == "none"
    assert sent["parallel_tool_calls"] is False
    assert sent["response_format"] == {"type": "json_object"}
    listed = sdk.beta.threads.runs.list(thread_id=thread.id).data
    assert [r.id for r in listed] == [run.id]
    updated = sdk.beta.threads.runs.update(run.id, thread_id=thread.id, metadata={"k": "w"})
    assert updated.metadata == {"k": "w"}


def test_truncation_last_messages(sdk: openai.OpenAI, assistant: Any,
                                  pipeline: Stack) -> None:
    thread = sdk.beta.threads.create(messages=[
        {"role": "user", "content": f"trunc message {i}"} for i in range(5)])
    run = sdk.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=100,
        truncation_strategy={"type": "last_messages", "last_messages": 2})
    assert run.status == "completed"
    sent = [r for r in pipeline.model.requests() if any(
        "trunc message 4" in str(m.get("content")) for m in r["messages"])][-1]
    assert [m["content"] for m in sent["messages"][1:]] == ["trunc message 3",
                                                           "trunc message 4"]


def test_run_errors_are_400s_or_404s(sdk: openai.OpenAI, assistant: Any,
                                     other: openai.OpenAI) -> None:
    thread = sdk.beta.threads.create()
    with pytest.raises(openai.NotFoundError):
        sdk.beta.threads.runs.create(thread_id=thread.id, assistant_id="asst_missing")
    with pytest.raises(openai.NotFoundError):
        sdk.beta.threads.runs.create(thread_id="thread_missing", assistant_id=assistant.id)
    with pytest.raises(openai.BadRequestError):
        sdk.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id,
                                     temperature=3)
    with pytest.raises(openai.BadRequestError):
        sdk.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id,
                                     max_completion_tokens=10)
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id,
                                                poll_interval_ms=100)
    with pytest.raises(openai.BadRequestError, match="do not accept tool outputs"):
        sdk.beta.threads.runs.submit_tool_outputs(
            run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": "c", "output": "o"}])
    with pytest.raises(openai.NotFoundError):
        other.beta.threads.runs.retrieve(run.id, thread_id=thread.id)
    with pytest.raises(openai.NotFoundError):
        sdk.beta.threads.runs.steps.retrieve("step_missing", thread_id=thread.id,
                                             run_id=run.id)
