"""The Responses and Conversations APIs through the newest official SDK, on the run engine."""

from __future__ import annotations

import time
from typing import Any

import openai
import pytest
from pydantic import BaseModel

from tests.support.stack import Stack
from tests.workers.conftest import wait_for

MODEL = "scripted-model"


def _prompt(pipeline: Stack, marker: str) -> list[dict[str, Any]]:
    """The chat messages of the last model request that held `marker`."""
    for body in reversed(pipeline.model.requests()):
        if any(marker in str(m.get("content")) for m in body["messages"]):
            return list(body["messages"])
    raise AssertionError(f"no model request held {marker!r}")


def test_plain_create_answers_when_done(sdk: openai.OpenAI, pipeline: Stack) -> None:
    r = sdk.responses.create(model=MODEL, input="plain hello", instructions="Be brief.",
                             metadata={"k": "v"}, temperature=0.5)
    assert r.id.startswith("resp_") and r.object == "response"
    assert r.status == "completed" and r.output_text == "Echo: plain hello"
    assert r.output[0].type == "message" and r.output[0].role == "assistant"
    assert r.instructions == "Be brief." and r.metadata == {"k": "v"} and r.temperature == 0.5
    assert r.usage is not None and r.usage.total_tokens == (
        r.usage.input_tokens + r.usage.output_tokens)
    prompt = _prompt(pipeline, "plain hello")
    assert prompt[0] == {"role": "system", "content": "Be brief."}
    again = sdk.responses.retrieve(r.id)
    assert again.status == "completed" and again.output_text == r.output_text
    assert [i.id for i in again.output] == [i.id for i in r.output]


def test_background_returns_queued_then_completes(sdk: openai.OpenAI) -> None:
    r = sdk.responses.create(model=MODEL, input="background hello", background=True)
    assert r.status in ("queued", "in_progress") and r.background is True and r.output == []
    done = wait_for(lambda: (x := sdk.responses.retrieve(r.id)).status == "completed" and x)
    assert done.output_text == "Echo: background hello"


def _events(stream: Any) -> list[Any]:
    return list(stream)


def test_stream_sends_the_documented_events_in_order(sdk: openai.OpenAI) -> None:
    events = _events(sdk.responses.create(model=MODEL, input="stream hello", stream=True))
    types = [e.type for e in events]
    assert types[:4] == ["response.created", "response.in_progress",
                         "response.output_item.added", "response.content_part.added"]
    assert types[-4:] == ["response.output_text.done", "response.content_part.done",
                          "response.output_item.done", "response.completed"]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    final = events[-1].response
    assert deltas == final.output_text == "Echo: stream hello"
    done = next(e for e in events if e.type == "response.output_text.done")
    assert done.text == deltas and done.item_id == final.output[0].id
    assert sdk.responses.retrieve(final.id).output_text == deltas


def test_stream_helper_gives_the_final_response(sdk: openai.OpenAI) -> None:
    seen: list[str] = []
    with sdk.responses.stream(model=MODEL, input="helper hello") as stream:
        for event in stream:
            if event.type == "response.output_text.delta":
                seen.append(event.delta)
        final = stream.get_final_response()
    assert "".join(seen) == final.output_text == "Echo: helper hello"


def test_a_dropped_background_stream_resumes_with_no_gap_and_no_duplicate(
        sdk: openai.OpenAI, pipeline: Stack) -> None:
    pipeline.model.script({"match": "resume me", "times": 1, "reply": {
        "content": "one two three four five six seven eight", "chunk_delay_ms": 50}})
    stream = sdk.responses.create(model=MODEL, input="resume me", background=True,
                                  stream=True)
    first = []
    for event in stream:
        first.append(event)
        if len(first) == 5:
            break
    stream.close()  # the connection drops
    last = first[-1].sequence_number
    rest = _events(sdk.responses.retrieve(first[0].response.id, stream=True,
                                          starting_after=last))
    numbers = [e.sequence_number for e in first + rest]
    assert numbers == list(range(len(numbers)))
    assert rest[-1].type == "response.completed"
    text = "".join(e.delta for e in first + rest if e.type == "response.output_text.delta")
    assert text == rest[-1].response.output_text
    whole = _events(sdk.responses.retrieve(first[0].response.id, stream=True))
    assert [(e.type, e.sequence_number) for e in whole] == [
        (e.type, e.sequence_number) for e in first + rest]


def test_previous_response_id_chains_and_branches(sdk: openai.OpenAI, pipeline: Stack) -> None:
    r1 = sdk.responses.create(model=MODEL, input="chain: my name is Ada")
    r2 = sdk.responses.create(model=MODEL, input="chain: what is my name?",
                              previous_response_id=r1.id)
    assert r2.previous_response_id == r1.id and r2.status == "completed"
    prompt = _prompt(pipeline, "chain: what is my name?")
    assert [(m["role"], m["content"]) for m in prompt] == [
        ("user", "chain: my name is Ada"), ("assistant", "Echo: chain: my name is Ada"),
        ("user", "chain: what is my name?")]
    r3 = sdk.responses.create(model=MODEL, input="chain: a branch",
                              previous_response_id=r1.id)
    assert r3.status == "completed"
    branch = _prompt(pipeline, "chain: a branch")
    assert "chain: what is my name?" not in str(branch)
    items = sdk.responses.input_items.list(r2.id)
    assert [i.content[0].text for i in items.data] == ["chain: what is my name?"]


class Person(BaseModel):
    name: str
    age: int


def test_parse_with_a_pydantic_text_format(sdk: openai.OpenAI, pipeline: Stack) -> None:
    pipeline.model.script({"match": "extract the person", "times": 1,
                           "reply": {"content": '{"name": "Ada", "age": 36}'}})
    parsed = sdk.responses.parse(model=MODEL, input="extract the person: Ada, 36",
                                 text_format=Person)
    assert parsed.output_parsed == Person(name="Ada", age=36)
    body = next(b for b in reversed(pipeline.model.requests())
                if "extract the person" in str(b["messages"]))
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["name"] == "Person"
    assert parsed.text.format.type == "json_schema"


def test_conversation_items_and_responses(sdk: openai.OpenAI, pipeline: Stack) -> None:
    conv = sdk.conversations.create(
        items=[{"type": "message", "role": "user", "content": "conv: I am Bob"}],
        metadata={"topic": "names"})
    assert conv.id.startswith("conv_") and conv.metadata == {"topic": "names"}
    r = sdk.responses.create(model=MODEL, input="conv: who am I?", conversation=conv.id)
    assert r.conversation is not None and r.conversation.id == conv.id
    assert [m["content"] for m in _prompt(pipeline, "conv: who am I?")] == [
        "conv: I am Bob", "conv: who am I?"]
    items = sdk.conversations.items.list(conv.id, order="asc")
    assert [(i.role, i.content[0].text) for i in items.data] == [
        ("user", "conv: I am Bob"), ("user", "conv: who am I?"),
        ("assistant", "Echo: conv: who am I?")]
    assert items.data[-1].id == r.output[0].id
    one = sdk.conversations.items.retrieve(items.data[0].id, conversation_id=conv.id)
    assert one.content[0].text == "conv: I am Bob"
    added = sdk.conversations.items.create(conv.id, items=[
        {"type": "message", "role": "assistant", "content": [
            {"type": "output_text", "text": "conv: noted"}]}])
    assert [i.content[0].text for i in added.data] == ["conv: noted"]
    sdk.conversations.items.delete(items.data[0].id, conversation_id=conv.id)
    left = sdk.conversations.items.list(conv.id, order="asc").data
    assert [i.content[0].text for i in left] == [
        "conv: who am I?", "Echo: conv: who am I?", "conv: noted"]
    assert sdk.conversations.update(conv.id, metadata={"topic": "x"}).metadata == {"topic": "x"}
    assert sdk.conversations.retrieve(conv.id).metadata == {"topic": "x"}
    gone = sdk.conversations.delete(conv.id)
    assert gone.deleted is True
    with pytest.raises(openai.NotFoundError):
        sdk.conversations.retrieve(conv.id)


def test_a_thread_continues_as_a_conversation(sdk: openai.OpenAI, pipeline: Stack) -> None:
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "thread: hi there"}])
    r = sdk.responses.create(model=MODEL, input="thread: go on", conversation=thread.id)
    assert r.status == "completed" and r.conversation.id == thread.id
    assert [m["content"] for m in _prompt(pipeline, "thread: go on")] == [
        "thread: hi there", "thread: go on"]
    messages = sdk.beta.threads.messages.list(thread.id, order="asc").data
    assert [(m.role, m.content[0].text.value) for m in messages] == [
        ("user", "thread: hi there"), ("user", "thread: go on"),
        ("assistant", "Echo: thread: go on")]
    assert sdk.beta.threads.runs.list(thread.id).data == []  # a response is not a run there
    items = sdk.conversations.items.list(thread.id, order="asc").data
    assert [i.role for i in items] == ["user", "user", "assistant"]


def test_one_active_response_per_conversation_and_cancel(
        sdk: openai.OpenAI, pipeline: Stack) -> None:
    pipeline.model.script({"match": "slow conv", "times": 1, "reply": {
        "content": "too late", "delay_ms": 3000}})
    conv = sdk.conversations.create()
    first = sdk.responses.create(model=MODEL, input="slow conv", conversation=conv.id,
                                 background=True)
    with pytest.raises(openai.BadRequestError):
        sdk.responses.create(model=MODEL, input="second", conversation=conv.id)
    wait_for(lambda: sdk.responses.retrieve(first.id).status == "in_progress")
    cancelled = sdk.responses.cancel(first.id)
    assert cancelled.status == "cancelled"
    time.sleep(3.5)  # the model's late answer arrives, and is dropped
    final = sdk.responses.retrieve(first.id)
    assert final.status == "cancelled" and final.output == []
    assert [i.role for i in sdk.conversations.items.list(conv.id).data] == ["user"]
    after = sdk.responses.create(model=MODEL, input="after cancel", conversation=conv.id)
    assert after.status == "completed"


def test_delete_and_store_false(sdk: openai.OpenAI) -> None:
    r = sdk.responses.create(model=MODEL, input="delete me")
    assert sdk.responses.delete(r.id) is None
    with pytest.raises(openai.NotFoundError):
        sdk.responses.retrieve(r.id)
    unstored = sdk.responses.create(model=MODEL, input="forget me", store=False)
    assert unstored.output_text == "Echo: forget me" and unstored.store is False
    with pytest.raises(openai.NotFoundError):
        sdk.responses.retrieve(unstored.id)
    with pytest.raises(openai.NotFoundError) as err:
        sdk.responses.create(model=MODEL, input="x", previous_response_id=unstored.id)
    assert err.value.body["param"] == "previous_response_id"


@pytest.mark.parametrize(("fields", "param"), [
    ({"tools": [{"type": "web_search"}]}, "tools[0].type"),
    ({"conversation": "conv_x", "previous_response_id": "resp_x"}, "previous_response_id"),
    ({"background": True, "store": False}, "store"),
    ({"input": [{"role": "user", "content": [{"type": "input_audio", "data": "x"}]}]},
     "input[0].content[0].type"),
    ({"input": [{"role": "robot", "content": "x"}]}, "input[0].role"),
    ({"text": {"format": {"type": "yaml"}}}, "text.format"),
    ({"include": ["nothing.real"]}, "include[0]"),
])
def test_bad_requests_are_400s_naming_the_param_and_write_nothing(
        sdk: openai.OpenAI, pipeline: Stack, fields: dict[str, Any], param: str) -> None:
    body = {"model": MODEL, "input": "bad request", **fields}
    before = len(pipeline.model.requests())
    with pytest.raises(openai.BadRequestError) as err:
        sdk.responses.create(**body)
    assert err.value.body["param"] == param
    assert len(pipeline.model.requests()) == before


def test_unknown_fields_and_missing_model(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError):
        sdk.responses.create(model=MODEL, input="x", extra_body={"no_such_field": 1})
    with pytest.raises(openai.BadRequestError) as err:
        sdk.responses.create(input="x", extra_body={"model": None})
    assert err.value.body["param"] == "model"


def test_tenants_see_only_their_own(sdk: openai.OpenAI, other: openai.OpenAI) -> None:
    r = sdk.responses.create(model=MODEL, input="mine")
    conv = sdk.conversations.create()
    with pytest.raises(openai.NotFoundError):
        other.responses.retrieve(r.id)
    with pytest.raises(openai.NotFoundError):
        other.conversations.retrieve(conv.id)
    with pytest.raises(openai.NotFoundError):
        other.responses.create(model=MODEL, input="x", conversation=conv.id)
    with pytest.raises(openai.NotFoundError):
        other.responses.create(model=MODEL, input="x", previous_response_id=r.id)


def test_input_items_and_input_token_count(sdk: openai.OpenAI) -> None:
    r = sdk.responses.create(model=MODEL, input=[
        {"role": "developer", "content": "items: be kind"},
        {"role": "user", "content": [{"type": "input_text", "text": "items: first"}]}])
    desc = sdk.responses.input_items.list(r.id)
    assert [i.role for i in desc.data] == ["user", "developer"]
    asc = sdk.responses.input_items.list(r.id, order="asc", limit=1)
    assert asc.has_more and asc.data[0].role == "developer"
    counted = sdk.responses.input_tokens.count(model=MODEL, input="a" * 400)
    assert counted.input_tokens >= 100


def test_max_output_tokens_ends_incomplete_and_a_model_failure_is_failed(
        sdk: openai.OpenAI, pipeline: Stack) -> None:
    pipeline.model.script({"match": "cut me off", "times": 1, "reply": {
        "content": "a long answer that stops", "finish_reason": "length"}})
    r = sdk.responses.create(model=MODEL, input="cut me off", max_output_tokens=16)
    assert r.status == "incomplete" and r.max_output_tokens == 16
    assert r.incomplete_details is not None and r.incomplete_details.reason == "max_output_tokens"
    assert r.output[0].status == "incomplete" and r.output_text == "a long answer that stops"
    pipeline.model.script({"match": "refused outright", "reply": {"status": 400}})
    failed = sdk.responses.create(model=MODEL, input="refused outright")
    assert failed.status == "failed" and failed.output == []
    assert failed.error is not None and failed.error.code and failed.error.message
