"""Retrieval end to end: real files ingested by real Celery workers, searched on both
databases, and file_search runs through the newest SDK whose answers cite the file."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from tests.support import documents as docs
from tests.support.stack import Stack
from tests.workers.conftest import wait_for

INCLUDE = "step_details.tool_calls[*].file_search.results[*].content"
NEEDLE = "The vault combination for the Zephyrine archive is 7319 and nobody else knows it."


def upload(sdk: openai.OpenAI, name: str, data: bytes) -> str:
    """Upload bytes as an assistants file; its id."""
    return sdk.files.create(file=(name, data), purpose="assistants").id


def ready(sdk: openai.OpenAI, store_id: str) -> Any:
    """Wait until the store has no file in progress; the store."""
    return wait_for(lambda: (s := sdk.vector_stores.retrieve(store_id)).status == "completed"
                    and s, timeout=90)


@pytest.fixture(scope="module")
def library(pipeline: Stack) -> dict[str, Any]:
    """One store with a PDF, a docx, a pptx, HTML, CSV and a long text, fully indexed."""
    sdk = openai.OpenAI(base_url=pipeline.api.base_url, api_key=pipeline.api.keys[0],
                        max_retries=0)
    files = {
        "report.pdf": docs.pdf([docs.filler(300, 3), "Page two. The quarterly yield of the"
                                " Marrowfield plantation reached 48 tonnes of saffron.",
                                docs.filler(300, 4)]),
        "memo.docx": docs.docx(["Internal memo.", "The ferry to Quillon departs at dawn"
                                " from pier nineteen."], [["crew", "count"], ["deckhands", "12"]]),
        "deck.pptx": docs.pptx(["Welcome", "Our mascot is a tangerine pangolin named Brio."]),
        "page.html": docs.html("The observatory dome was painted cobalt in 1987."),
        "prices.csv": docs.csv([["item", "price"], ["gizmotron", "31 dollars"],
                                ["widget", "4 dollars"]]),
        "novel.txt": docs.long_text(NEEDLE),
    }
    ids = {name: upload(sdk, name, data) for name, data in files.items()}
    store = sdk.vector_stores.create(name="library", file_ids=list(ids.values()))
    assert store.file_counts.total == 6
    return {"store": ready(sdk, store.id), "ids": ids}


def test_every_format_is_indexed(sdk: openai.OpenAI, library: dict[str, Any]) -> None:
    store = library["store"]
    assert store.file_counts.completed == 6 and store.file_counts.failed == 0
    assert store.usage_bytes > 300_000
    listed = sdk.vector_stores.files.list(vector_store_id=store.id, filter="completed",
                                          limit=100).data
    assert {f.id for f in listed} == set(library["ids"].values())
    assert all(f.last_error is None and f.usage_bytes > 0 for f in listed)


@pytest.mark.parametrize(("query", "name", "expect"), [
    ("quarterly saffron yield Marrowfield", "report.pdf", "48 tonnes"),
    ("when does the ferry to Quillon depart", "memo.docx", "pier nineteen"),
    ("how many deckhands", "memo.docx", "12"),
    ("mascot pangolin", "deck.pptx", "Brio"),
    ("observatory dome colour cobalt", "page.html", "1987"),
    ("price of the gizmotron", "prices.csv", "31 dollars"),
    ("Zephyrine vault combination", "novel.txt", "7319"),
])
def test_search_finds_the_passage(sdk: openai.OpenAI, library: dict[str, Any], query: str,
                                  name: str, expect: str) -> None:
    results = sdk.vector_stores.search(library["store"].id, query=query, max_num_results=3).data
    assert results, query
    best = results[0]
    assert best.file_id == library["ids"][name] and best.filename == name
    assert expect in best.content[0].text
    assert 0 < best.score <= 1
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)


def test_html_scripts_are_not_indexed(sdk: openai.OpenAI, library: dict[str, Any]) -> None:
    assert sdk.vector_stores.search(library["store"].id, query="scriptneedle").data == []


def test_bad_files_fail_with_clear_errors(sdk: openai.OpenAI) -> None:
    good = upload(sdk, "fine.md", b"# Title\n\nThe lighthouse keeper is called Ormond.\n")
    bad = {
        upload(sdk, "blank.txt", b"   \n\n  "): ("invalid_file", "No text"),
        upload(sdk, "zero.txt", b""): ("invalid_file", "empty"),
        upload(sdk, "broken.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ngarbage"):
            ("invalid_file", "PDF"),
        upload(sdk, "broken.docx", b"PK\x03\x04 not really a zip"): ("invalid_file", "docx"),
        upload(sdk, "tool.exe", b"MZ\x90\x00\x03"): ("unsupported_file", ".exe"),
        upload(sdk, "binary.txt", b"\x00\x01\x02\x03text"): ("invalid_file", "binary"),
    }
    store = sdk.vector_stores.create(name="mixed")
    batch = sdk.vector_stores.file_batches.create(store.id, file_ids=[good, *bad])
    assert batch.file_counts.total == 7
    done = wait_for(lambda: (b := sdk.vector_stores.file_batches.retrieve(
        batch.id, vector_store_id=store.id)).status == "completed" and b, timeout=90)
    assert done.file_counts.completed == 1 and done.file_counts.failed == 6
    failed = sdk.vector_stores.files.list(vector_store_id=store.id, filter="failed").data
    assert {f.id for f in failed} == set(bad)
    for f in failed:
        code, words = bad[f.id]
        assert f.last_error is not None and f.last_error.code == code, f.last_error
        assert words.lower() in f.last_error.message.lower(), f.last_error.message
    assert sdk.vector_stores.retrieve(store.id).status == "completed"
    hits = sdk.vector_stores.search(store.id, query="lighthouse keeper").data
    assert [h.file_id for h in hits] == [good]


def test_readding_a_file_reindexes_without_duplicates(sdk: openai.OpenAI) -> None:
    fid = upload(sdk, "once.txt", b"Only one passage mentions the albatross Gideon.")
    store = sdk.vector_stores.create(file_ids=[fid])
    ready(sdk, store.id)
    again = sdk.vector_stores.files.create(vector_store_id=store.id, file_id=fid)
    assert again.status == "in_progress"
    ready(sdk, store.id)
    hits = sdk.vector_stores.search(store.id, query="albatross Gideon").data
    assert len(hits) == 1 and sdk.vector_stores.retrieve(store.id).file_counts.total == 1
    sdk.vector_stores.files.delete(file_id=fid, vector_store_id=store.id)
    assert sdk.vector_stores.search(store.id, query="albatross Gideon").data == []
    assert sdk.vector_stores.retrieve(store.id).file_counts.total == 0


def test_static_chunking_is_honoured(sdk: openai.OpenAI) -> None:
    fid = upload(sdk, "chunks.txt", docs.filler(3000, 9).encode())
    store = sdk.vector_stores.create(file_ids=[fid], chunking_strategy={
        "type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 50}})
    ready(sdk, store.id)
    vsf = sdk.vector_stores.files.retrieve(file_id=fid, vector_store_id=store.id)
    assert vsf.chunking_strategy.static.max_chunk_size_tokens == 100  # type: ignore[union-attr]
    hits = sdk.vector_stores.search(store.id, query="river", max_num_results=50).data
    assert len(hits) == 50  # 3,000 words in 100-token windows make far more than 50 chunks
    assert all(len(h.content[0].text.split()) <= 100 for h in hits)


def _search_run(sdk: openai.OpenAI, pipeline: Stack, store_id: str, question: str,
                keyword: str, tool: dict[str, Any]) -> tuple[Any, Any]:
    asst = sdk.beta.assistants.create(
        model="scripted-model", instructions="Answer from the files.", tools=[tool],
        tool_resources={"file_search": {"vector_store_ids": [store_id]}})
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": question}])
    pipeline.model.script(
        {"match": question, "times": 1, "reply": {"tool_calls": [
            {"name": "file_search", "arguments": json.dumps({"query": question})}]}},
        {"match": question, "times": 1, "reply": {"quote_tool": keyword}})
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=asst.id,
                                                poll_interval_ms=100)
    return thread, run


def test_file_search_run_answers_from_the_middle_and_cites(
        sdk: openai.OpenAI, pipeline: Stack, library: dict[str, Any]) -> None:
    question = "What is the vault combination of the Zephyrine archive?"
    thread, run = _search_run(sdk, pipeline, library["store"].id, question, "vault combination",
                              {"type": "file_search"})
    assert run.status == "completed", run.last_error
    steps = sdk.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id,
                                             order="asc", include=[INCLUDE]).data
    assert [s.type for s in steps] == ["tool_calls", "message_creation"]
    call = steps[0].step_details.tool_calls[0]  # type: ignore[union-attr]
    assert call.type == "file_search" and steps[0].status == "completed"
    assert call.file_search.ranking_options.score_threshold == 0.0
    results = call.file_search.results
    assert results[0].file_id == library["ids"]["novel.txt"]
    assert results[0].file_name == "novel.txt" and "7319" in results[0].content[0].text
    plain = sdk.beta.threads.runs.steps.retrieve(steps[0].id, thread_id=thread.id, run_id=run.id)
    assert plain.step_details.tool_calls[0].file_search.results[0].content is None  # type: ignore[union-attr]
    tool_msgs = [m for m in pipeline.model.requests()[-1]["messages"] if m["role"] == "tool"]
    assert len(tool_msgs) == 1 and NEEDLE in tool_msgs[0]["content"]
    answer = sdk.beta.threads.messages.list(thread_id=thread.id).data[0]
    text = answer.content[0].text  # type: ignore[union-attr]
    assert "7319" in text.value and "【" in text.value
    ann = text.annotations[0]
    assert ann.type == "file_citation"
    assert ann.file_citation.file_id == library["ids"]["novel.txt"]  # type: ignore[union-attr]
    assert text.value[ann.start_index:ann.end_index] == ann.text  # type: ignore[union-attr]
    assert "7319" in ann.file_citation.quote  # type: ignore[union-attr]


def test_max_num_results_and_threshold_are_honoured(
        sdk: openai.OpenAI, pipeline: Stack, library: dict[str, Any]) -> None:
    question = "Tell me about the river stone market garden"
    thread, run = _search_run(sdk, pipeline, library["store"].id, question, "river",
                              {"type": "file_search", "file_search": {"max_num_results": 2}})
    assert run.status == "completed", run.last_error
    step = sdk.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id,
                                            order="asc").data[0]
    assert len(step.step_details.tool_calls[0].file_search.results) == 2  # type: ignore[union-attr]
    thread, run = _search_run(
        sdk, pipeline, library["store"].id, "river stone market again", "river",
        {"type": "file_search", "file_search": {"ranking_options": {"score_threshold": 1.0}}})
    step = sdk.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id,
                                            order="asc").data[0]
    assert step.step_details.tool_calls[0].file_search.results == []  # type: ignore[union-attr]
    assert run.status == "completed"


def test_attachment_lands_in_the_thread_store(sdk: openai.OpenAI, pipeline: Stack) -> None:
    fid = upload(sdk, "attached.txt", b"The garden gnome of Pellham wears a violet hat.")
    asst = sdk.beta.assistants.create(model="scripted-model", tools=[{"type": "file_search"}])
    thread = sdk.beta.threads.create()
    question = "What colour is the hat of the Pellham gnome?"
    sdk.beta.threads.messages.create(thread_id=thread.id, role="user", content=question,
                                     attachments=[{"file_id": fid,
                                                   "tools": [{"type": "file_search"}]}])
    fresh = sdk.beta.threads.retrieve(thread.id)
    store_ids = fresh.tool_resources.file_search.vector_store_ids  # type: ignore[union-attr]
    assert len(store_ids) == 1
    assert [f.id for f in sdk.vector_stores.files.list(vector_store_id=store_ids[0]).data] == [
        fid]
    assert sdk.vector_stores.retrieve(store_ids[0]).expires_after.days == 7  # type: ignore[union-attr]
    pipeline.model.script(
        {"match": question, "times": 1, "reply": {"tool_calls": [
            {"name": "file_search", "arguments": json.dumps({"query": "Pellham gnome hat"})}]}},
        {"match": question, "times": 1, "reply": {"quote_tool": "violet"}})
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=asst.id,
                                                poll_interval_ms=100)
    assert run.status == "completed", run.last_error
    text = sdk.beta.threads.messages.list(thread_id=thread.id).data[0].content[0].text  # type: ignore[union-attr]
    assert "violet" in text.value
    assert text.annotations[0].file_citation.file_id == fid  # type: ignore[union-attr]


def test_streamed_file_search_run(sdk: openai.OpenAI, pipeline: Stack,
                                  library: dict[str, Any]) -> None:
    question = "Stream me the Quillon ferry departure"
    asst = sdk.beta.assistants.create(
        model="scripted-model", tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [library["store"].id]}})
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": question}])
    pipeline.model.script(
        {"match": question, "times": 1, "reply": {"tool_calls": [
            {"name": "file_search", "arguments": json.dumps({"query": "ferry Quillon"})}]}},
        {"match": question, "times": 1, "reply": {"quote_tool": "ferry"}})
    events: list[str] = []
    with sdk.beta.threads.runs.stream(thread_id=thread.id, assistant_id=asst.id) as stream:
        for event in stream:
            events.append(event.event)
        final = stream.get_final_messages()
    assert events[-1] == "thread.run.completed"
    assert events.count("thread.run.step.completed") == 2
    assert events.index("thread.run.step.completed") < events.index("thread.message.created")
    text = final[-1].content[0].text  # type: ignore[union-attr]
    assert "pier nineteen" in text.value
    assert text.annotations[0].file_citation.file_id == library["ids"]["memo.docx"]  # type: ignore[union-attr]


def test_search_beside_a_function_call_waits_for_its_output(
        sdk: openai.OpenAI, pipeline: Stack, library: dict[str, Any]) -> None:
    question = "Price the gizmotron and convert it to euros"
    asst = sdk.beta.assistants.create(
        model="scripted-model", tools=[{"type": "file_search"}, {"type": "function", "function": {
            "name": "to_euros", "parameters": {"type": "object", "properties": {}}}}],
        tool_resources={"file_search": {"vector_store_ids": [library["store"].id]}})
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": question}])
    pipeline.model.script({"match": question, "times": 1, "reply": {"tool_calls": [
        {"name": "file_search", "arguments": json.dumps({"query": "gizmotron price"})},
        {"name": "to_euros", "arguments": "{}"}]}})
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=asst.id,
                                                poll_interval_ms=100)
    assert run.status == "requires_action", run.last_error
    pending = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
    assert [c.function.name for c in pending] == ["to_euros"]
    done = sdk.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread.id, poll_interval_ms=100,
        tool_outputs=[{"tool_call_id": pending[0].id, "output": "0.9 EUR per dollar"}])
    assert done.status == "completed", done.last_error
    step = sdk.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id, order="asc",
                                            include=[INCLUDE]).data[0]
    kinds = [c.type for c in step.step_details.tool_calls]  # type: ignore[union-attr]
    assert kinds == ["file_search", "function"] and step.status == "completed"
    sent = pipeline.model.requests()[-1]["messages"]
    tools = [m["content"] for m in sent if m["role"] == "tool"]
    assert any("31 dollars" in t for t in tools) and "0.9 EUR per dollar" in tools


def test_sdk_poll_helpers_and_file_deletion(sdk: openai.OpenAI) -> None:
    store = sdk.vector_stores.create(name="helpers")
    vsf = sdk.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=("kestrel.md", b"The kestrel Amaranth nests in the bell"
                                        b" tower of Dunmore."), poll_interval_ms=100)
    assert vsf.status == "completed"
    batch = sdk.vector_stores.file_batches.upload_and_poll(
        store.id, files=[("a.txt", b"Alpha notes about quinces."),
                         ("b.json", b'{"fruit": "medlar", "colour": "brown"}')],
        poll_interval_ms=100)
    assert batch.status == "completed" and batch.file_counts.completed == 2
    assert [h.filename for h in sdk.vector_stores.search(store.id, query="medlar").data] == [
        "b.json"]
    sdk.files.delete(vsf.id)  # deleting the file takes it out of every store
    assert sdk.vector_stores.search(store.id, query="kestrel Amaranth").data == []
    assert sdk.vector_stores.retrieve(store.id).file_counts.total == 2


def test_search_without_stores_tells_the_model(sdk: openai.OpenAI, pipeline: Stack) -> None:
    question = "Search for the unknowable marmalade"
    asst = sdk.beta.assistants.create(model="scripted-model", tools=[{"type": "file_search"}])
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": question}])
    pipeline.model.script({"match": question, "times": 1, "reply": {"tool_calls": [
        {"name": "file_search", "arguments": json.dumps({"query": "marmalade"})}]}})
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=asst.id,
                                                poll_interval_ms=100)
    assert run.status == "completed", run.last_error
    reply = sdk.beta.threads.messages.list(thread_id=thread.id).data[0]
    assert reply.content[0].text.value == (  # type: ignore[union-attr]
        'Tool said: No results in the files for "marmalade".')
    assert reply.content[0].text.annotations == []  # type: ignore[union-attr]


def test_duplicate_ingest_deliveries_index_once(sdk: openai.OpenAI, pipeline: Stack) -> None:
    from celery import Celery
    from sqlalchemy import create_engine, text

    fid = upload(sdk, "twice.txt", docs.filler(2000, 11).encode())
    store = sdk.vector_stores.create(file_ids=[fid])
    producer = Celery(broker=pipeline.env["ORCH_REDIS_URL"])
    for _ in range(3):  # the same message delivered again and again, as after a redelivery
        producer.send_task("retrieval.ingest", args=[store.id, fid], queue="runs")
    ready(sdk, store.id)
    engine = create_engine(pipeline.api.env["ORCH_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT ordinal FROM retrieval_chunks WHERE"
                                     " vector_store_id = :s ORDER BY ordinal"),
                                {"s": store.id}).scalars().all()
    finally:
        engine.dispose()
    assert rows == list(range(len(rows))) and len(rows) > 3  # one set of chunks, no copies


def test_search_filters_on_file_attributes(sdk: openai.OpenAI) -> None:
    store = sdk.vector_stores.create(name="filtered")
    text = b"The annual report covers the harvest of plums."
    old = upload(sdk, "2023.txt", text)
    new = upload(sdk, "2024.txt", text)
    sdk.vector_stores.files.create(vector_store_id=store.id, file_id=old,
                                   attributes={"year": 2023, "team": "north"})
    sdk.vector_stores.files.create(vector_store_id=store.id, file_id=new,
                                   attributes={"year": 2024, "team": "south"})
    ready(sdk, store.id)
    assert {h.file_id for h in sdk.vector_stores.search(store.id, query="plums").data} == {
        old, new}
    recent = sdk.vector_stores.search(store.id, query="plums", filters={
        "type": "gte", "key": "year", "value": 2024}).data
    assert [h.file_id for h in recent] == [new] and recent[0].attributes == {
        "year": 2024, "team": "south"}
    either = sdk.vector_stores.search(store.id, query="plums", filters={"type": "or", "filters": [
        {"type": "eq", "key": "team", "value": "north"},
        {"type": "eq", "key": "team", "value": "west"}]}).data
    assert [h.file_id for h in either] == [old]
