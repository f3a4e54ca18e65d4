"""Streams as the SDKs' event handlers expect them: typed tool calls, citations in deltas,
v1 objects in v1 streams (openai 1.20's own stream helpers)."""

from __future__ import annotations

import json
from typing import Any

import openai
from openai import AssistantEventHandler

from tests.support.sdk_v1 import ensure_sdk1_venv, run_scenario
from tests.support.stack import Stack
from tests.workers.conftest import wait_for

FERRY = "The ferry to Quillon departs at dawn from pier nineteen, every day but Sunday."
WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "parameters": {"type": "object", "properties": {
        "city": {"type": "string"}}, "required": ["city"]}}}


class Handler(AssistantEventHandler):
    """Records what the SDK's handler callbacks see."""

    def __init__(self) -> None:
        super().__init__()
        self.created: list[Any] = []
        self.tool_deltas: list[Any] = []
        self.text_deltas: list[Any] = []
        self.last_snapshot: Any = None
        self.done_texts: list[Any] = []

    def on_tool_call_created(self, tool_call: Any) -> None:
        self.created.append(tool_call)

    def on_tool_call_delta(self, delta: Any, snapshot: Any) -> None:
        self.tool_deltas.append(delta)

    def on_text_delta(self, delta: Any, snapshot: Any) -> None:
        self.text_deltas.append(delta)
        self.last_snapshot = snapshot.model_copy(deep=True)

    def on_text_done(self, text: Any) -> None:
        self.done_texts.append(text)


def _store(sdk: openai.OpenAI, text: str) -> tuple[str, str]:
    """(vector store id, file id) of a store holding one indexed text file."""
    fid = sdk.files.create(file=("ferry.txt", text.encode()), purpose="assistants").id
    store = sdk.vector_stores.create(name="ferries", file_ids=[fid])
    wait_for(lambda: sdk.vector_stores.retrieve(store.id).status == "completed", timeout=90)
    return store.id, fid


def _cited(ann: Any) -> tuple[Any, ...]:
    return (ann.type, ann.text, ann.start_index, ann.end_index, ann.file_citation.file_id)


def test_streamed_file_search_is_typed_and_its_citations_come_in_deltas(
        sdk: openai.OpenAI, pipeline: Stack) -> None:
    store_id, fid = _store(sdk, FERRY)
    asst = sdk.beta.assistants.create(
        model="scripted-model", tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [store_id]}})
    question = "When does the Quillon ferry leave, streamed?"
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": question}])
    pipeline.model.script(
        {"match": question, "times": 1, "reply": {"tool_calls": [
            {"name": "file_search", "arguments": json.dumps({"query": "Quillon ferry"})}]}},
        {"match": question, "times": 1, "reply": {"quote_tool": "pier"}})
    handler = Handler()
    with sdk.beta.threads.runs.stream(thread_id=thread.id, assistant_id=asst.id,
                                      event_handler=handler) as stream:
        stream.until_done()
        final = stream.get_final_messages()[-1]
    assert stream.get_final_run().status == "completed"
    assert [c.type for c in handler.created] == ["file_search"]
    assert handler.created[0].file_search is not None
    assert all(d.type == "file_search" for d in handler.tool_deltas)
    text = final.content[0].text  # type: ignore[union-attr]
    assert text.annotations and all(a.file_citation.file_id == fid for a in text.annotations)
    streamed = [a for d in handler.text_deltas for a in d.annotations or []]
    assert [_cited(a) for a in streamed] == [_cited(a) for a in text.annotations]
    assert [a.index for a in streamed] == list(range(len(text.annotations)))
    # what a UI rendering from deltas holds: the streamed text and its citations, in place
    snapshot = handler.last_snapshot
    assert snapshot.value == text.value
    assert [_cited(a) for a in snapshot.annotations] == [_cited(a) for a in text.annotations]
    for ann in snapshot.annotations:
        assert snapshot.value[ann.start_index:ann.end_index] == ann.text
    assert "".join(d.value or "" for d in handler.text_deltas) == text.value
    assert all(d.value is not None for d in handler.text_deltas)  # print(delta.value) is safe


def test_streamed_function_call_stays_a_function(sdk: openai.OpenAI, pipeline: Stack) -> None:
    asst = sdk.beta.assistants.create(model="scripted-model", tools=[WEATHER_TOOL])
    question = "Stream the weather in Lyon"
    arguments = json.dumps({"city": "Lyon"})
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": question}])
    pipeline.model.script({"match": question, "times": 1, "reply": {"tool_calls": [
        {"name": "get_weather", "arguments": arguments}]}})
    handler = Handler()
    with sdk.beta.threads.runs.stream(thread_id=thread.id, assistant_id=asst.id,
                                      event_handler=handler) as stream:
        stream.until_done()
    run = stream.get_final_run()
    assert run.status == "requires_action"
    assert [(c.type, c.function.name) for c in handler.created] == [("function", "get_weather")]
    assert handler.created[0].id == run.required_action.submit_tool_outputs.tool_calls[0].id  # type: ignore[union-attr]
    streamed = handler.created[0].function.arguments + "".join(
        d.function.arguments or "" for d in handler.tool_deltas)
    assert streamed == arguments


def test_v1_stream_sends_v1_objects(pipeline: Stack) -> None:
    needle = "The Sablewick lighthouse guards the harbour of Port Elmore."
    question = "Stream me which harbour the Sablewick lighthouse guards"
    pipeline.model.script(
        {"match": question, "times": 1, "reply": {"tool_calls": [
            {"name": "retrieval", "arguments": json.dumps({"query": "Sablewick harbour"})}]}},
        {"match": question, "times": 1, "reply": {"quote_tool": "Sablewick"}})
    result = run_scenario(ensure_sdk1_venv(), pipeline.api, "streams")
    assert result["sdk_version"] == "1.20.0" and result["needle"] == needle
    assert result["final_status"] == "completed"
    assert result["final_file_ids"] == result["retrieved_file_ids"] == [result["file_id"]]
    assert result["final_tools"] == [{"type": "retrieval"}]
    assert result["created_types"] == ["retrieval"]
    assert result["completed_call_types"] == [["retrieval"], []]
    assert result["message_file_ids"] == [[]] and result["message_keys_with_attachments"] == []
    assert result["delta_annotations"] == result["final_annotations"] != []
    assert all(a["file_citation"]["quote"] is not None for a in result["delta_annotations"])
