"""Function calling through the Responses API: a call ends the response, the client answers
with function_call_output (by previous_response_id, a conversation, or the whole history, as
the OpenAI Agents SDK sends it)."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import openai
import pytest

from tests.support.stack import Stack

MODEL = "scripted-model"
WEATHER = {"type": "function", "name": "get_weather", "description": "Weather of a city.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                          "required": ["city"]}}


def _ask_weather(pipeline: Stack, marker: str, chunk: int | None = None) -> None:
    reply: dict[str, Any] = {"tool_calls": [{"name": "get_weather",
                                             "arguments": json.dumps({"city": "Paris"})}]}
    if chunk:
        reply["arguments_chunk"] = chunk
    pipeline.model.script({"match": marker, "times": 1, "on": "user", "reply": reply})


def _prompt(pipeline: Stack, marker: str) -> list[dict[str, Any]]:
    for body in reversed(pipeline.model.requests()):
        if any(marker in str(m.get("content")) for m in body["messages"]):
            return list(body["messages"])
    raise AssertionError(f"no model request held {marker!r}")


def test_a_function_call_ends_the_response_and_its_output_continues_it(
        sdk: openai.OpenAI, pipeline: Stack) -> None:
    _ask_weather(pipeline, "fn-prev: weather")
    r1 = sdk.responses.create(model=MODEL, input="fn-prev: weather in Paris?", tools=[WEATHER])
    assert r1.status == "completed"
    [call] = r1.output
    assert call.type == "function_call" and call.name == "get_weather"
    assert json.loads(call.arguments) == {"city": "Paris"} and call.call_id
    assert r1.tools[0].name == "get_weather"
    first = next(b for b in reversed(pipeline.model.requests())
                 if "fn-prev: weather" in str(b["messages"]))
    assert first["tools"][0]["function"]["name"] == "get_weather"
    r2 = sdk.responses.create(model=MODEL, previous_response_id=r1.id, tools=[WEATHER], input=[
        {"type": "function_call_output", "call_id": call.call_id, "output": "sunny, 21C"}])
    assert r2.status == "completed" and r2.output_text == "Tool said: sunny, 21C"
    prompt = _prompt(pipeline, "fn-prev: weather")
    assert prompt[-2]["tool_calls"][0]["id"] == call.call_id
    assert prompt[-1] == {"role": "tool", "tool_call_id": call.call_id, "content": "sunny, 21C"}
    kinds = [i.type for i in sdk.responses.input_items.list(r2.id).data]
    assert kinds == ["function_call_output"]


def test_the_whole_history_in_input_works_without_previous_response_id(
        sdk: openai.OpenAI, pipeline: Stack) -> None:
    _ask_weather(pipeline, "fn-hist: weather")
    question = {"role": "user", "content": "fn-hist: weather in Paris?"}
    r1 = sdk.responses.create(model=MODEL, input=[question], tools=[WEATHER])
    call = r1.output[0]
    history = [question, call.model_dump(exclude_none=True),
               {"type": "function_call_output", "call_id": call.call_id, "output": "rain"}]
    r2 = sdk.responses.create(model=MODEL, input=history, tools=[WEATHER])
    assert r2.output_text == "Tool said: rain"


def test_a_call_without_its_output_is_a_400(sdk: openai.OpenAI, pipeline: Stack) -> None:
    _ask_weather(pipeline, "fn-missing: weather")
    r1 = sdk.responses.create(model=MODEL, input="fn-missing: weather?", tools=[WEATHER])
    with pytest.raises(openai.BadRequestError) as err:
        sdk.responses.create(model=MODEL, previous_response_id=r1.id, input="never mind")
    assert r1.output[0].call_id in err.value.message and err.value.body["param"] == "input"
    with pytest.raises(openai.BadRequestError):
        sdk.responses.create(model=MODEL, input=[
            {"type": "function_call_output", "call_id": "call_nowhere", "output": "x"}])
    with pytest.raises(openai.BadRequestError) as err:
        sdk.responses.create(model=MODEL, input="x", tools=[{"type": "function", "name": "a b"}])
    assert err.value.body["param"] == "tools[0].name"


def test_a_streamed_function_call(sdk: openai.OpenAI, pipeline: Stack) -> None:
    _ask_weather(pipeline, "fn-stream: weather", chunk=3)
    with sdk.responses.stream(model=MODEL, input="fn-stream: weather?", tools=[WEATHER]) as s:
        events = list(s)
        final = s.get_final_response()
    types = [e.type for e in events]
    assert "response.output_item.added" in types and types[-1] == "response.completed"
    deltas = [e.delta for e in events if e.type == "response.function_call_arguments.delta"]
    assert len(deltas) > 1
    done = next(e for e in events if e.type == "response.function_call_arguments.done")
    [call] = final.output
    assert "".join(deltas) == done.arguments == call.arguments
    assert json.loads(call.arguments) == {"city": "Paris"}
    added = next(e for e in events if e.type == "response.output_item.added")
    assert added.item.id == call.id == done.item_id and added.output_index == 0
    assert [e.sequence_number for e in events] == list(range(len(events)))


def test_tool_turns_in_a_conversation_are_items_not_thread_messages(
        sdk: openai.OpenAI, pipeline: Stack) -> None:
    _ask_weather(pipeline, "fn-conv: weather")
    thread = sdk.beta.threads.create()
    r1 = sdk.responses.create(model=MODEL, input="fn-conv: weather?", tools=[WEATHER],
                              conversation=thread.id)
    call = r1.output[0]
    sdk.responses.create(model=MODEL, conversation=thread.id, tools=[WEATHER], input=[
        {"type": "function_call_output", "call_id": call.call_id, "output": "fog"}])
    kinds = [i.type for i in sdk.conversations.items.list(thread.id, order="asc").data]
    assert kinds == ["message", "function_call", "function_call_output", "message"]
    shown = sdk.beta.threads.messages.list(thread.id, order="asc").data
    assert [(m.role, m.content[0].text.value) for m in shown] == [
        ("user", "fn-conv: weather?"), ("assistant", "Tool said: fog")]


def test_the_openai_agents_sdk_runs_a_tool_using_agent(pipeline: Stack) -> None:
    from agents import Agent, OpenAIResponsesModel, Runner, function_tool, set_tracing_disabled

    set_tracing_disabled(True)  # no trace export to OpenAI's servers
    pipeline.model.script({"match": "agents: weather", "times": 1, "on": "user", "reply": {
        "tool_calls": [{"name": "get_weather", "arguments": '{"city": "Oslo"}'}]}})
    called: list[str] = []

    @function_tool
    def get_weather(city: str) -> str:
        """The weather of a city."""
        called.append(city)
        return f"snow in {city}"

    async def run() -> Any:
        client = openai.AsyncOpenAI(base_url=pipeline.api.base_url,
                                    api_key=pipeline.api.keys[0])
        agent = Agent(name="Forecaster", instructions="Answer with the weather.",
                      tools=[get_weather],
                      model=OpenAIResponsesModel(model=MODEL, openai_client=client))
        return await Runner.run(agent, "agents: weather in Oslo?")

    # Its own thread and event loop: an earlier test (Playwright's sync API) may have left
    # one running in this thread, where Runner.run_sync refuses to start.
    results: list[Any] = []
    worker = threading.Thread(target=lambda: results.append(asyncio.run(run())))
    worker.start()
    worker.join(timeout=120)
    assert called == ["Oslo"]
    assert results and results[0].final_output == "Tool said: snow in Oslo"


FERRY = "The ferry to Quillon departs at dawn from pier nineteen, every day but Sunday."


def _store(sdk: openai.OpenAI, text: str) -> tuple[str, str]:
    """(vector store id, file id) of a store holding one indexed text file."""
    from tests.workers.conftest import wait_for

    fid = sdk.files.create(file=("ferry.txt", text.encode()), purpose="assistants").id
    store = sdk.vector_stores.create(name="ferries", file_ids=[fid])
    wait_for(lambda: sdk.vector_stores.retrieve(store.id).status == "completed", timeout=90)
    return store.id, fid


def _search_then_quote(pipeline: Stack, question: str) -> None:
    pipeline.model.script(
        {"match": question, "times": 1, "on": "user", "reply": {"tool_calls": [
            {"name": "file_search", "arguments": json.dumps({"query": "Quillon ferry"})}]}},
        {"match": question, "times": 1, "on": "tool", "reply": {"quote_tool": "pier"}})


def test_file_search_answers_with_citations(sdk: openai.OpenAI, pipeline: Stack) -> None:
    store_id, fid = _store(sdk, FERRY)
    question = "rs-search: when does the Quillon ferry leave?"
    _search_then_quote(pipeline, question)
    r = sdk.responses.create(model=MODEL, input=question, include=["file_search_call.results"],
                             tools=[{"type": "file_search", "vector_store_ids": [store_id]}])
    assert r.status == "completed"
    assert [i.type for i in r.output] == ["file_search_call", "message"]
    search, answer = r.output
    assert search.queries == ["Quillon ferry"] and search.results[0].file_id == fid
    assert search.results[0].filename == "ferry.txt" and "pier nineteen" in search.results[0].text
    text = answer.content[0]
    assert "pier nineteen" in text.text and "【" not in text.text  # no source markers
    [cite] = text.annotations
    assert (cite.type, cite.file_id, cite.filename) == ("file_citation", fid, "ferry.txt")
    assert 0 < cite.index <= len(text.text)
    plain = sdk.responses.retrieve(r.id)
    assert plain.output[0].results is None  # results only when included
    assert sdk.responses.retrieve(r.id, include=["file_search_call.results"]).output[
        0].results[0].file_id == fid


def test_streamed_file_search_events(sdk: openai.OpenAI, pipeline: Stack) -> None:
    store_id, fid = _store(sdk, FERRY)
    question = "rs-search-stream: when does the Quillon ferry leave?"
    _search_then_quote(pipeline, question)
    with sdk.responses.stream(model=MODEL, input=question, tools=[
            {"type": "file_search", "vector_store_ids": [store_id]}]) as s:
        events = list(s)
        final = s.get_final_response()
    types = [e.type for e in events]
    for name in ("response.file_search_call.in_progress", "response.file_search_call.searching",
                 "response.file_search_call.completed"):
        assert name in types
    added = [e for e in events if e.type == "response.output_item.added"]
    assert [(e.item.type, e.output_index) for e in added] == [
        ("file_search_call", 0), ("message", 1)]
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == final.output[1].content[0].text and "【" not in text
    assert final.output[1].content[0].annotations[0].file_id == fid
    assert [e.sequence_number for e in events] == list(range(len(events)))


def test_file_search_on_a_store_of_another_tenant_is_404(
        sdk: openai.OpenAI, other: openai.OpenAI) -> None:
    store_id, _ = _store(sdk, FERRY)
    with pytest.raises(openai.NotFoundError) as err:
        other.responses.create(model=MODEL, input="x", tools=[
            {"type": "file_search", "vector_store_ids": [store_id]}])
    assert err.value.body["param"] == "tools[0].vector_store_ids[0]"


def test_file_search_filters_by_attributes_and_max_tool_calls_caps_builtins(
        sdk: openai.OpenAI, pipeline: Stack) -> None:
    from tests.workers.conftest import wait_for

    red = sdk.files.create(file=("red.txt", FERRY.encode()), purpose="assistants").id
    blue = sdk.files.create(file=("blue.txt", FERRY.encode()), purpose="assistants").id
    store = sdk.vector_stores.create(name="teams")
    sdk.vector_stores.files.create(vector_store_id=store.id, file_id=red,
                                   attributes={"team": "red"})
    sdk.vector_stores.files.create(vector_store_id=store.id, file_id=blue,
                                   attributes={"team": "blue"})
    wait_for(lambda: sdk.vector_stores.retrieve(store.id).file_counts.completed == 2, timeout=90)
    question = "rs-filter: when does the Quillon ferry leave?"
    _search_then_quote(pipeline, question)
    r = sdk.responses.create(
        model=MODEL, input=question, include=["file_search_call.results"], max_tool_calls=1,
        tools=[{"type": "file_search", "vector_store_ids": [store.id],
                "filters": {"type": "eq", "key": "team", "value": "red"}}])
    assert r.status == "completed"
    assert {h.file_id for h in r.output[0].results} == {red}
    after = [b for b in pipeline.model.requests() if question in str(b["messages"])]
    assert "tools" in after[0] and "tools" not in after[-1]  # the one built-in call was made
    with pytest.raises(openai.BadRequestError) as err:
        sdk.responses.create(model=MODEL, input="x", tools=[
            {"type": "file_search", "vector_store_ids": [store.id], "filters": {"type": "zz"}}])
    assert err.value.body["param"] == "tools[0].filters"


def test_input_files_by_id_and_by_data_reach_the_model(
        sdk: openai.OpenAI, pipeline: Stack) -> None:
    import base64

    fid = sdk.files.create(file=("notes.txt", b"The launch code is 7-7-3."),
                           purpose="user_data").id
    r = sdk.responses.create(model=MODEL, input=[{"role": "user", "content": [
        {"type": "input_file", "file_id": fid},
        {"type": "input_file", "filename": "more.md",
         "file_data": "data:text/markdown;base64," + base64.b64encode(b"# Also 42").decode()},
        {"type": "input_text", "text": "rs-file: what do the files say?"}]}])
    assert r.status == "completed"
    [message] = _prompt(pipeline, "rs-file: what do the files say?")
    assert "[file notes.txt]\nThe launch code is 7-7-3." in message["content"]
    assert "[file more.md]\n# Also 42" in message["content"]
    [given] = sdk.responses.input_items.list(r.id).data
    assert [(p.type, getattr(p, "filename", None)) for p in given.content] == [
        ("input_file", "notes.txt"), ("input_file", "more.md"), ("input_text", None)]
    for part, param in [({"type": "input_file", "file_url": "http://x/y.pdf"},
                         "input[0].content[0].file_url"),
                        ({"type": "input_file", "file_id": "file-nope"},
                         "input[0].content[0].file_id"),
                        ({"type": "input_file", "filename": "a.exe", "file_data": "AAAA"},
                         "input[0].content[0]")]:
        with pytest.raises((openai.BadRequestError, openai.NotFoundError)) as err:
            sdk.responses.create(model=MODEL, input=[{"role": "user", "content": [part]}])
        assert err.value.body["param"] == param


def test_a_file_given_on_a_thread_shows_in_the_assistants_api(sdk: openai.OpenAI) -> None:
    fid = sdk.files.create(file=("memo.txt", b"memo"), purpose="user_data").id
    thread = sdk.beta.threads.create()
    sdk.responses.create(model=MODEL, conversation=thread.id, input=[{"role": "user", "content": [
        {"type": "input_file", "file_id": fid}, {"type": "input_text", "text": "read it"}]}])
    first = sdk.beta.threads.messages.list(thread.id, order="asc").data[0]
    assert [p.text.value for p in first.content] == ["[file memo.txt]", "read it"]
