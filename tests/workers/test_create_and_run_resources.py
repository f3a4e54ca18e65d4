"""create_and_run with tool_resources on the thread and at the top level: the run (and the
thread's next run) searches both, through real workers."""

from __future__ import annotations

import json

import openai

from tests.support.stack import Stack
from tests.workers.test_retrieval import INCLUDE, ready, upload


def _searched_files(sdk: openai.OpenAI, run: openai.types.beta.threads.Run) -> set[str]:
    steps = sdk.beta.threads.runs.steps.list(thread_id=run.thread_id, run_id=run.id,
                                             order="asc", include=[INCLUDE]).data
    call = steps[0].step_details.tool_calls[0]  # type: ignore[union-attr]
    return {r.file_id for r in call.file_search.results}


def test_run_searches_thread_and_top_level_stores(sdk: openai.OpenAI, pipeline: Stack) -> None:
    well = upload(sdk, "well.txt", b"The Ashgrove well is thirty metres deep.")
    bridge = upload(sdk, "bridge.txt", b"The Birchmoor bridge has nine stone arches.")
    near = sdk.vector_stores.create(file_ids=[well])
    ready(sdk, near.id)
    asst = sdk.beta.assistants.create(model="scripted-model", tools=[{"type": "file_search"}])
    question = "How deep is the Ashgrove well and how many arches has the Birchmoor bridge?"
    for _ in range(2):
        pipeline.model.script(
            {"match": question, "times": 1, "reply": {"tool_calls": [
                {"name": "file_search",
                 "arguments": json.dumps({"query": "Ashgrove well Birchmoor bridge"})}]}},
            {"match": question, "times": 1, "reply": {"content": "Answered."}})
    run = sdk.beta.threads.create_and_run_poll(
        assistant_id=asst.id, poll_interval_ms=100,
        thread={"messages": [{"role": "user", "content": question}],
                "tool_resources": {"file_search": {"vector_store_ids": [near.id]}}},
        tool_resources={"file_search": {"vector_stores": [{"file_ids": [bridge]}]}})
    assert run.status == "completed", run.last_error
    assert _searched_files(sdk, run) == {well, bridge}
    # The rule: both became the thread's, so the thread's next run searches both too.
    sdk.beta.threads.messages.create(thread_id=run.thread_id, role="user", content=question)
    again = sdk.beta.threads.runs.create_and_poll(thread_id=run.thread_id, assistant_id=asst.id,
                                                  poll_interval_ms=100)
    assert again.status == "completed", again.last_error
    assert _searched_files(sdk, again) == {well, bridge}
