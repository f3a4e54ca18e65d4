"""Outages answered right: Redis down during writes and scrapes, PostgreSQL connections lost.

The pipeline runs on PostgreSQL and a private Redis that the tests kill and restart.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text

from tests.support.redis_server import RedisServer, redis_server
from tests.support.servers import postgres_available, postgres_database
from tests.support.stack import Stack, stack
from tests.workers.conftest import wait_for

pytestmark = pytest.mark.slow
TERMINAL = {"completed", "failed", "cancelled", "expired", "incomplete"}
WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}}}}


@pytest.fixture(scope="module")
def outage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, RedisServer]]:
    """The pipeline on PostgreSQL and a Redis the test may kill."""
    if not postgres_available():
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432 (external resource missing)")
    workdir = tmp_path_factory.mktemp("outages")
    with redis_server(workdir) as rs, postgres_database() as url, stack(url, workdir,
                                                                         rs.url) as st:
        yield st, rs


@pytest.fixture()
def st(outage: tuple[Stack, RedisServer]) -> Iterator[Stack]:
    """The stack, with Redis running again after the test whatever happened."""
    yield outage[0]
    rs = outage[1]
    if rs.process is None or rs.process.poll() is not None:
        rs.start()


@pytest.fixture()
def sdk(st: Stack) -> openai.OpenAI:
    """The newest SDK with no retries: a 5xx must not hide behind a retry."""
    return openai.OpenAI(base_url=st.api.base_url, api_key=st.api.keys[0], max_retries=0)


def _scalar(st: Stack, sql: str) -> Any:
    engine = create_engine(st.env["ORCH_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()
    finally:
        engine.dispose()


def _final(sdk: openai.OpenAI, runs: list[Any], timeout: float = 120) -> list[Any]:
    def done() -> list[Any] | None:
        now = [sdk.beta.threads.runs.retrieve(r.id, thread_id=r.thread_id) for r in runs]
        return now if all(r.status in TERMINAL for r in now) else None
    return list(wait_for(done, timeout=timeout, every=0.5))


def _log_since(st: Stack, mark: int) -> str:
    return st.api.log()[mark:]


def test_redis_down_run_writes_answer_queued_and_complete_later(
        outage: tuple[Stack, RedisServer], st: Stack, sdk: openai.OpenAI) -> None:
    """Run create, create-thread-and-run, submit_tool_outputs and batch create commit their
    run while Redis is down: 200 with the queued run, and the sweeper sends it later."""
    rs = outage[1]
    st.model.script({"match": "tool please", "times": 1, "reply": {
        "tool_calls": [{"name": "get_weather", "arguments": json.dumps({"city": "Oslo"})}]}})
    asst = sdk.beta.assistants.create(model="m", tools=[WEATHER])
    waiting = sdk.beta.threads.create_and_run(
        assistant_id=asst.id, thread={"messages": [{"role": "user", "content": "tool please"}]})
    waiting = wait_for(lambda: (r := sdk.beta.threads.runs.retrieve(
        waiting.id, thread_id=waiting.thread_id)).status == "requires_action" and r)
    line = {"custom_id": "outage-1", "method": "POST", "url": "/v1/threads/runs",
            "body": {"assistant_id": asst.id,
                     "thread": {"messages": [{"role": "user", "content": "batch outage"}]}}}
    batch_file = sdk.files.create(file=("in.jsonl", io.BytesIO(json.dumps(line).encode())),
                                  purpose="batch")
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "run outage"}])
    threads_before = int(_scalar(st, "SELECT count(*) FROM threads"))
    mark = len(st.api.log())

    rs.kill()
    run = sdk.beta.threads.runs.create(thread_id=thread.id, assistant_id=asst.id)
    assert run.status == "queued"
    retrying = sdk.with_options(max_retries=2)  # a 5xx would make the SDK send it again
    both_body: dict[str, Any] = {
        "assistant_id": asst.id,
        "thread": {"messages": [{"role": "user", "content": "both outage"}]},
        "extra_headers": {"Idempotency-Key": "outage-both"}}
    both = retrying.beta.threads.create_and_run(**both_body)
    assert both.status == "queued"
    again = retrying.beta.threads.create_and_run(**both_body)  # a client's own retry
    assert (again.id, again.thread_id) == (both.id, both.thread_id)
    call = waiting.required_action.submit_tool_outputs.tool_calls[0]
    resumed = sdk.beta.threads.runs.submit_tool_outputs(
        waiting.id, thread_id=waiting.thread_id,
        tool_outputs=[{"tool_call_id": call.id, "output": "7C"}])
    assert resumed.status == "queued"
    batch = sdk.batches.create(input_file_id=batch_file.id,
                               endpoint="/v1/threads/runs",  # type: ignore[arg-type]
                               completion_window="24h")
    assert batch.status in ("validating", "in_progress")
    assert int(_scalar(st, "SELECT count(*) FROM threads")) == threads_before + 1
    log = _log_since(st, mark)
    assert "Traceback" not in log, log
    assert log.count("will re-send") == 1, log  # one warning for the outage, not one a call

    rs.start()  # empty: nothing was ever queued
    for final in _final(sdk, [run, both, resumed]):
        assert final.status == "completed", (final.id, final.last_error)
    done = wait_for(lambda: (b := sdk.batches.retrieve(batch.id)).status == "completed" and b,
                    timeout=120, every=0.5)
    assert done.request_counts.completed == 1


def _scrape(st: Stack) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    resp = httpx.get(st.api.url + "/metrics", timeout=30)
    assert resp.status_code == 200, resp.text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(resp.text) for s in fam.samples}


def test_metrics_keep_database_figures_while_redis_is_down(
        outage: tuple[Stack, RedisServer], st: Stack, sdk: openai.OpenAI) -> None:
    rs = outage[1]
    up = _scrape(st)
    assert up[("orch_redis_up", ())] == 1 and up[("orch_database_up", ())] == 1
    assert ("orch_queue_depth", (("queue", "runs"),)) in up
    rs.kill()
    down = _scrape(st)
    assert down[("orch_redis_up", ())] == 0 and down[("orch_database_up", ())] == 1
    assert ("orch_runs", (("status", "completed"),)) in down
    assert ("orch_batches", (("status", "in_progress"),)) in down
    assert not any(name == "orch_queue_depth" for name, _ in down)
    rs.start()
    again = _scrape(st)
    assert again[("orch_redis_up", ())] == 1
    assert ("orch_queue_depth", (("queue", "runs"),)) in again


def _waiting_on_lock(st: Stack) -> list[int]:
    sql = ("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
           " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")
    engine = create_engine(st.env["ORCH_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return [int(p) for p in conn.execute(text(sql)).scalars()]
    finally:
        engine.dispose()


def test_database_connection_lost_mid_request_is_503_with_retry_after(
        st: Stack, sdk: openai.OpenAI) -> None:
    """Requests whose PostgreSQL backend is terminated while they wait inside a query (a
    restart, a failover, pg_terminate_backend) answer 503 with Retry-After, writing nothing;
    the next requests get fresh connections."""
    thread = sdk.beta.threads.create()
    http = httpx.Client(base_url=st.api.base_url, timeout=60, headers={
        "Authorization": f"Bearer {st.api.keys[0]}", "OpenAI-Beta": "assistants=v2"})
    answers: list[httpx.Response] = []
    sdk_errors: list[Exception] = []

    def post(key: str | None = None) -> None:
        answers.append(http.post(f"/threads/{thread.id}/messages",
                                 json={"role": "user", "content": "lost"},
                                 headers={"Idempotency-Key": key} if key else None))

    def get() -> None:
        answers.append(http.get(f"/threads/{thread.id}"))

    def sdk_get() -> None:
        try:
            sdk.beta.threads.retrieve(thread.id)
        except openai.APIStatusError as exc:
            sdk_errors.append(exc)

    locker = create_engine(st.env["ORCH_DATABASE_URL"])
    callers = [threading.Thread(target=f) for f in (post, post, get, get, sdk_get)]
    callers.append(threading.Thread(target=post, args=("lost-once",)))
    try:
        with locker.connect() as conn, conn.begin():
            conn.execute(text("LOCK TABLE threads IN ACCESS EXCLUSIVE MODE"))
            for caller in callers:
                caller.start()
            pids = wait_for(lambda: (p := _waiting_on_lock(st)) and len(p) >= len(callers)
                            and p)
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM unnest(:pids) AS pid"),
                         {"pids": pids})
            for caller in callers:
                caller.join(timeout=60)
    finally:
        locker.dispose()
        http.close()
    assert len(answers) == 5 and len(sdk_errors) == 1
    for resp in answers:
        assert resp.status_code == 503, resp.text
        assert int(resp.headers["retry-after"]) >= 1
        error = resp.json()["error"]
        assert error["type"] == "server_error" and error["code"] == "service_unavailable"
        assert "retry" in error["message"].lower()
    [exc] = sdk_errors
    assert isinstance(exc, openai.InternalServerError) and exc.status_code == 503
    assert exc.response.headers["retry-after"]
    assert sdk.beta.threads.retrieve(thread.id).id == thread.id  # fresh connections now
    assert sdk.beta.threads.messages.list(thread_id=thread.id).data == []
    # A 5xx is not kept for its Idempotency-Key: the retry runs (and only then writes).
    retried = sdk.beta.threads.messages.with_raw_response.create(
        thread_id=thread.id, role="user", content="lost",
        extra_headers={"Idempotency-Key": "lost-once"})
    assert retried.status_code == 200 and "idempotent-replayed" not in retried.headers
    assert [m.id for m in sdk.beta.threads.messages.list(thread_id=thread.id)] == [
        retried.parse().id]
