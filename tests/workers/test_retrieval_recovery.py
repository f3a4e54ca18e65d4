"""Ingestion survives lost task messages: retrieval.sweep on beat re-sends them."""

from __future__ import annotations

import os
from collections.abc import Iterator

import openai
import pytest
import redis

from tests.support.servers import postgres_database, sqlite_database
from tests.support.stack import Stack, stack
from tests.workers.conftest import wait_for


@pytest.fixture()
def idle_stack(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """API and model only; workers and beat are started by the test."""
    workdir = tmp_path_factory.mktemp(f"recovery-{backend}")
    db = postgres_database() if backend == "postgres" else sqlite_database(workdir)
    redis_db = int(os.environ.get("ORCH_TEST_REDIS_DB", "3"))
    with db as url, stack(url, workdir, f"redis://127.0.0.1:6379/{redis_db}", workers=0,
                          beat=False, ORCH_RETRIEVAL_REQUEUE_SECONDS="2") as st:
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
