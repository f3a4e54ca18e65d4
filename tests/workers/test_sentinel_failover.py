"""Redis failover: the whole pipeline on a Sentinel URL, the primary SIGKILLed mid-batch.

API, run worker and beat keep their processes: they follow the sentinels to the promoted replica,
and every question of the batch is answered exactly once.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import redis
from kombu import Connection
from sqlalchemy import create_engine, text

from orchestrator.config import get_settings
from orchestrator.redis_client import celery_broker, new_async_redis, new_redis
from tests.support.sentinel import sentinel_cluster
from tests.support.servers import postgres_available, postgres_database
from tests.support.stack import Stack, stack
from tests.workers.conftest import wait_for

pytestmark = pytest.mark.slow
QUESTIONS = 300
MODEL_DELAY_MS = 1000


def _scalar(st: Stack, sql: str, **params: Any) -> Any:
    engine = create_engine(st.env["ORCH_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()
    finally:
        engine.dispose()


def _streamed_run_completes(sdk: openai.OpenAI, assistant_id: str, question: str) -> bool:
    """Create-thread-and-run with stream=True: the API relays the run's Redis event stream."""
    events = [e.event for e in sdk.beta.threads.create_and_run(
        assistant_id=assistant_id, stream=True,
        thread={"messages": [{"role": "user", "content": question}]})]
    return "thread.run.completed" in events and "thread.message.delta" in events


def test_batch_survives_primary_killed(tmp_path_factory: pytest.TempPathFactory) -> None:
    if not postgres_available():
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432 (external resource missing)")
    workdir = tmp_path_factory.mktemp("sentinel")
    with sentinel_cluster(workdir) as cluster, postgres_database() as url, stack(
            url, workdir, cluster.url, workers=0, ORCH_BATCH_MAX_IN_FLIGHT="100",
            ORCH_BATCH_FEED_INTERVAL="0.5") as st:
        worker = st.start_worker("--concurrency", "64")
        sdk = openai.OpenAI(base_url=st.api.base_url, api_key=st.api.keys[0], max_retries=2)
        st.model.script(delay_ms=MODEL_DELAY_MS)
        asst = sdk.beta.assistants.create(model="scripted-model", instructions="Answer.")
        assert _streamed_run_completes(sdk, asst.id, "before the failover")

        lines = [{"custom_id": f"q-{i}", "method": "POST", "url": "/v1/threads/runs",
                  "body": {"assistant_id": asst.id,
                           "thread": {"messages": [{"role": "user", "content": f"q {i}"}]}}}
                 for i in range(QUESTIONS)]
        data = "\n".join(json.dumps(x) for x in lines).encode()
        file_id = sdk.files.create(file=("in.jsonl", io.BytesIO(data)), purpose="batch").id
        started = time.monotonic()
        batch = sdk.batches.create(input_file_id=file_id, endpoint="/v1/threads/runs",  # type: ignore[arg-type]
                                   completion_window="24h")
        wait_for(lambda: sdk.batches.retrieve(batch.id).request_counts.completed  # type: ignore[union-attr]
                 >= QUESTIONS // 4, timeout=60, every=0.2)

        old = cluster.master_port()
        assert old == cluster.primary_port
        cluster.kill_primary()
        killed = time.monotonic()
        # A question asked during the failover: its run commits, its message may be lost
        # with the primary (or never sent), and it is answered once Redis is back.
        thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "during"}])
        during = sdk.beta.threads.runs.create(thread_id=thread.id, assistant_id=asst.id)
        new = cluster.wait_promoted(old)
        promoted = time.monotonic() - killed
        assert new == cluster.replica_port
        wait_for(lambda: sdk.beta.threads.runs.retrieve(
            during.id, thread_id=thread.id).status == "completed", timeout=60, every=0.2)
        recovered = time.monotonic() - killed

        def final() -> Any:
            b = sdk.batches.retrieve(batch.id)
            return b if b.status in ("completed", "failed", "cancelled", "expired") else None
        done = wait_for(final, timeout=90, every=0.5)
        total = time.monotonic() - started
        assert done.status == "completed", done
        assert done.request_counts.completed == QUESTIONS, done.request_counts
        assert done.request_counts.failed == 0, done.request_counts
        out = [json.loads(x) for x in sdk.files.content(done.output_file_id).text.splitlines()]
        assert sorted(o["custom_id"] for o in out) == sorted(x["custom_id"] for x in lines)

        # Exactly once: one completed run and one assistant message per question.
        runs = ("FROM batch_requests br JOIN runs r ON r.id = br.run_id"
                " WHERE br.batch_id = :b AND r.status = 'completed'")
        assert _scalar(st, f"SELECT count(*) {runs}", b=batch.id) == QUESTIONS
        answers = ("FROM messages m JOIN batch_requests br ON br.run_id = m.run_id"
                   " WHERE br.batch_id = :b AND m.role = 'assistant'")
        assert _scalar(st, f"SELECT count(*) {answers}", b=batch.id) == QUESTIONS
        assert _scalar(st, f"SELECT count(DISTINCT m.run_id) {answers}", b=batch.id) == QUESTIONS
        roles = [m.role for m in sdk.beta.threads.messages.list(thread.id)]
        assert sorted(roles) == ["assistant", "user"], roles

        # Nothing was restarted: the worker and beat that ran before the kill did the rest.
        assert worker.poll() is None and st.beat is not None and st.beat.poll() is None
        # The API's readiness probe and its event-stream relay follow the new primary too.
        ready = httpx.get(st.api.url + "/ready", timeout=10)
        assert ready.status_code == 200 and ready.json()["redis"] == "ok", ready.text
        assert _streamed_run_completes(sdk, asst.id, "after the failover")
        print(f"\nsentinel failover: promoted after {promoted:.1f} s, a run asked during it"
              f" answered after {recovered:.1f} s, batch of {QUESTIONS} done in {total:.1f} s"
              f" ({len(st.model.requests())} model calls)")


def test_master_and_sentinel_passwords(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The master's password in the URL, the sentinels' in ORCH_REDIS_SENTINEL_PASSWORD: the
    clients and the broker connection authenticate to both."""
    with sentinel_cluster(tmp_path, password="m-pw", sentinel_password="s-pw") as cluster:
        monkeypatch.setenv("ORCH_REDIS_URL", cluster.url)
        monkeypatch.setenv("ORCH_REDIS_SENTINEL_PASSWORD", "s-pw")
        get_settings.cache_clear()
        try:
            client = new_redis(socket_timeout=5)
            client.set("greeting", "hello")

            async def read() -> Any:
                return await new_async_redis(socket_timeout=5).get("greeting")
            # On a thread of its own: an earlier test (Playwright) may leave a loop running here.
            with ThreadPoolExecutor(1) as pool:
                assert pool.submit(asyncio.run, read()).result(timeout=30) == b"hello"
            url, options = celery_broker()
            with Connection(url, transport_options=options) as conn:
                conn.SimpleQueue("sentinel-pw").put({"n": 1})
            assert client.llen("sentinel-pw") == 1

            monkeypatch.setenv("ORCH_REDIS_SENTINEL_PASSWORD", "wrong")
            get_settings.cache_clear()
            with pytest.raises(redis.ConnectionError, match="No master found"):
                new_redis(socket_timeout=5).ping()
        finally:
            get_settings.cache_clear()
