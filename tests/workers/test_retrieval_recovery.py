"""Ingestion survives lost task messages: retrieval.sweep on beat re-sends them."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest
import redis

from tests.support.servers import REDIS_URL, postgres_database, sqlite_database
from tests.support.stack import Stack, stack
from tests.workers.conftest import wait_for


@pytest.fixture()
def idle_stack(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """API and model only, on the plain API servers' Redis database (nobody consumes it);
    workers and beat are started by the test."""
    workdir = tmp_path_factory.mktemp(f"recovery-{backend}")
    db = postgres_database() if backend == "postgres" else sqlite_database(workdir)
    # Not the pipeline's Redis database: its worker would take our messages.
    with db as url, stack(url, workdir, REDIS_URL, workers=0,
                          beat=False, ORCH_RETRIEVAL_REQUEUE_SECONDS="2",
                          ORCH_RETRIEVAL_MAX_FILE_TOKENS="1000000") as st:
        yield st


def test_lost_ingest_messages_are_resent(idle_stack: Stack) -> None:
    sdk = openai.OpenAI(base_url=idle_stack.api.base_url, api_key=idle_stack.api.keys[0],
                        max_retries=0)
    fid = sdk.files.create(file=("lost.txt", b"The heron counts the reeds at noon."),
                           purpose="assistants").id
    store = sdk.vector_stores.create(file_ids=[fid])
    broker = redis.Redis.from_url(idle_stack.env["ORCH_REDIS_URL"])
    assert broker.llen("runs") == 1
    broker.flushdb()  # as a Redis restart without persistence would: the message is gone
    idle_stack.start_worker()
    idle_stack.start_beat()
    done = wait_for(lambda: (s := sdk.vector_stores.retrieve(store.id)).status == "completed"
                    and s, timeout=60)
    assert done.file_counts.completed == 1, idle_stack.worker_log()
    assert [h.file_id for h in sdk.vector_stores.search(store.id, query="heron reeds").data] == [
        fid]


def test_huge_file_fails_and_the_rest_still_works(idle_stack: Stack) -> None:
    sdk = openai.OpenAI(base_url=idle_stack.api.base_url, api_key=idle_stack.api.keys[0],
                        max_retries=0)
    idle_stack.start_worker()
    huge = sdk.files.create(file=("huge.txt", b"word " * 3_000_000), purpose="assistants").id
    small = sdk.files.create(file=("small.txt", b"The otter keeps a pebble."),
                             purpose="assistants").id
    store = sdk.vector_stores.create(file_ids=[huge, small])
    done = wait_for(lambda: (s := sdk.vector_stores.retrieve(store.id)).status == "completed"
                    and s, timeout=90)
    assert done.file_counts.failed == 1 and done.file_counts.completed == 1
    failed = sdk.vector_stores.files.retrieve(file_id=huge, vector_store_id=store.id)
    assert failed.last_error is not None and failed.last_error.code == "invalid_file"
    assert "limit" in failed.last_error.message
    assert [h.file_id for h in sdk.vector_stores.search(store.id, query="otter").data] == [small]


def test_a_run_indexes_files_still_waiting(idle_stack: Stack) -> None:
    sdk = openai.OpenAI(base_url=idle_stack.api.base_url, api_key=idle_stack.api.keys[0],
                        max_retries=0)
    fid = sdk.files.create(file=("wait.txt", b"The badger of Hollins keeps seven keys."),
                           purpose="assistants").id
    store = sdk.vector_stores.create(file_ids=[fid])
    redis.Redis.from_url(idle_stack.env["ORCH_REDIS_URL"]).flushdb()  # its task is gone
    asst = sdk.beta.assistants.create(
        model="scripted-model", tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [store.id]}})
    question = "How many keys does the Hollins badger keep?"
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": question}])
    idle_stack.model.script(
        {"match": question, "times": 1, "reply": {"tool_calls": [
            {"name": "file_search", "arguments": '{"query": "Hollins badger keys"}'}]}},
        {"match": question, "times": 1, "reply": {"quote_tool": "badger"}})
    idle_stack.start_worker()  # no beat: only the run itself can index the file
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=asst.id,
                                                poll_interval_ms=100)
    assert run.status == "completed", run.last_error
    assert sdk.vector_stores.retrieve(store.id).file_counts.completed == 1
    text = sdk.beta.threads.messages.list(thread_id=thread.id).data[0].content[0].text  # type: ignore[union-attr]
    assert "seven keys" in text.value and text.annotations[0].file_citation.file_id == fid  # type: ignore[union-attr]
