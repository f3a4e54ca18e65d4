"""Batches of runs end to end: real API, threads worker, beat (the feeder), scripted model."""

from __future__ import annotations

import json
import time
from typing import Any

import openai
import pytest

from tests.batches.conftest import (
    IN_FLIGHT,
    batch_line,
    db_execute,
    db_scalar,
    read_jsonl,
    upload,
)
from tests.support.stack import Stack
from tests.workers.conftest import wait_for

ACTIVE_BATCH_RUNS = (
    "SELECT count(*) FROM runs JOIN batch_requests ON batch_requests.run_id = runs.id"
    " WHERE batch_requests.batch_id = :b AND runs.status IN ('queued', 'in_progress')")


def _wait_final(sdk: openai.OpenAI, batch_id: str, timeout: float = 120,
                watch: Any = None) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = sdk.batches.retrieve(batch_id)
        if watch:
            watch(batch)
        if batch.status in ("completed", "failed", "cancelled", "expired"):
            return batch
        time.sleep(0.3)
    raise AssertionError(f"batch {batch_id} did not finish: {batch}")


def test_batch_end_to_end_with_output_and_error_files(sdk: openai.OpenAI, assistant: Any,
                                                      pipeline: Stack) -> None:
    n = 240
    failing = {f"q-{i}" for i in range(0, n, 24)}  # 10 questions the model answers with 500
    pipeline.model.script({"match": "please fail", "reply": {"status": 500}}, delay_ms=100)
    lines = [batch_line(f"q-{i}", assistant.id,
                        f"question {i}" + (" please fail" if f"q-{i}" in failing else ""))
             for i in range(n)]
    file_id = upload(sdk, lines)
    batch = sdk.batches.create(input_file_id=file_id, endpoint="/v1/threads/runs",  # type: ignore[arg-type]
                               completion_window="24h", metadata={"job": "e2e"})
    assert batch.status == "validating" and batch.request_counts is not None
    assert batch.request_counts.total == n and batch.metadata == {"job": "e2e"}
    assert batch.expires_at == batch.created_at + 24 * 3600

    # An interactive run is not starved while the batch holds the tenant's in-flight budget.
    wait_for(lambda: sdk.batches.retrieve(batch.id).status == "in_progress", timeout=20)
    started = time.monotonic()
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "interactive"}])
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id,
                                                poll_interval_ms=100)
    assert run.status == "completed"
    interactive_seconds = time.monotonic() - started

    peak = [0]
    progress: list[int] = []

    def watch(b: Any) -> None:
        peak[0] = max(peak[0], int(db_scalar(pipeline, ACTIVE_BATCH_RUNS, b=batch.id)))
        progress.append(b.request_counts.completed + b.request_counts.failed)

    done = _wait_final(sdk, batch.id, timeout=240, watch=watch)
    assert done.status == "completed", done
    assert done.request_counts.total == n  # type: ignore[union-attr]
    assert done.request_counts.completed == n - len(failing)  # type: ignore[union-attr]
    assert done.request_counts.failed == len(failing)  # type: ignore[union-attr]
    assert done.completed_at and done.in_progress_at and done.finalizing_at
    assert progress == sorted(progress) and len(set(progress)) > 2  # counts moved up
    assert 0 < peak[0] <= IN_FLIGHT, peak
    assert interactive_seconds < 15, interactive_seconds

    out = read_jsonl(sdk, done.output_file_id)
    assert sdk.files.retrieve(done.output_file_id).purpose == "batch_output"  # type: ignore[arg-type]
    assert [x["custom_id"] for x in out] == [f"q-{i}" for i in range(n) if f"q-{i}" not in failing]
    for item in out:
        i = int(item["custom_id"].split("-")[1])
        assert item["error"] is None and item["id"].startswith("batch_req_")
        resp = item["response"]
        assert resp["status_code"] == 200 and resp["request_id"]
        body = resp["body"]
        assert body["object"] == "thread.run" and body["status"] == "completed"
        assert body["assistant_id"] == assistant.id
        answers = body["messages"]
        assert len(answers) == 1 and answers[0]["role"] == "assistant"
        assert answers[0]["run_id"] == body["id"]
        assert answers[0]["content"][0]["text"]["value"] == f"Echo: question {i}"
    errors = read_jsonl(sdk, done.error_file_id)
    assert sorted(x["custom_id"] for x in errors) == sorted(failing)
    for item in errors:
        assert item["error"]["code"] == "server_error"
        assert item["response"]["body"]["status"] == "failed"
        assert item["response"]["body"]["messages"] == []
    # The run behind a line is a normal run of the tenant's.
    first = out[0]["response"]["body"]
    assert sdk.beta.threads.runs.retrieve(first["id"], thread_id=first["thread_id"]).status == (
        "completed")
    assert any(b.id == batch.id for b in sdk.batches.list(limit=5))
    with pytest.raises(openai.BadRequestError, match="Cannot cancel a batch with status"):
        sdk.batches.cancel(batch.id)


def test_cancel_midway(sdk: openai.OpenAI, assistant: Any, pipeline: Stack) -> None:
    pipeline.model.script({"match": "slow question", "reply": {"delay_ms": 400,
                                                                "content": "slow"}})
    n = 150
    batch = sdk.batches.create(
        input_file_id=upload(sdk, [batch_line(f"c-{i}", assistant.id, f"slow question {i}")
                                   for i in range(n)]),
        endpoint="/v1/threads/runs", completion_window="24h")  # type: ignore[arg-type]
    wait_for(lambda: sdk.batches.retrieve(batch.id).request_counts.completed >= 10,  # type: ignore[union-attr]
             timeout=60)
    cancelling = sdk.batches.cancel(batch.id)
    assert cancelling.status == "cancelling" and cancelling.cancelling_at
    done = _wait_final(sdk, batch.id, timeout=60)
    assert done.status == "cancelled" and done.cancelled_at
    counts = done.request_counts
    assert counts is not None and counts.total == n
    assert 10 <= counts.completed < n
    out = read_jsonl(sdk, done.output_file_id)
    assert len(out) == counts.completed
    assert all(x["response"]["body"]["status"] == "completed" for x in out)
    cancelled = read_jsonl(sdk, done.error_file_id)
    assert len(cancelled) == counts.failed
    assert {x["response"]["body"]["status"] for x in cancelled} <= {"cancelled", "failed"}
    assert db_scalar(pipeline, ACTIVE_BATCH_RUNS, b=batch.id) == 0
    unfed = db_scalar(pipeline, "SELECT count(*) FROM batch_requests WHERE batch_id = :b"
                                " AND run_id IS NULL", b=batch.id)
    assert unfed == n - counts.completed - counts.failed > 0  # the rest never started
    assert sdk.batches.cancel(batch.id).status == "cancelled"  # already: answered as is


def test_rate_limited_model_slows_the_batch_but_fails_nothing(
        sdk: openai.OpenAI, assistant: Any, pipeline: Stack) -> None:
    pipeline.model.script({"match": "storm question", "for_seconds": 4,
                           "reply": {"status": 429, "retry_after": 1}})
    n = 60
    batch = sdk.batches.create(
        input_file_id=upload(sdk, [batch_line(f"r-{i}", assistant.id, f"storm question {i}")
                                   for i in range(n)]),
        endpoint="/v1/threads/runs", completion_window="24h")  # type: ignore[arg-type]
    done = _wait_final(sdk, batch.id, timeout=120)
    assert done.status == "completed"
    assert done.request_counts.completed == n and done.request_counts.failed == 0  # type: ignore[union-attr]
    assert done.error_file_id is None
    assert len(read_jsonl(sdk, done.output_file_id)) == n
    assert sum(1 for r in pipeline.model.requests()
               if "storm question" in json.dumps(r)) > n  # it really was refused for a while


def _batch_count(pipeline: Stack) -> tuple[int, int]:
    return (int(db_scalar(pipeline, "SELECT count(*) FROM batches")),
            int(db_scalar(pipeline, "SELECT count(*) FROM runs")))


@pytest.mark.parametrize(("case", "line_no", "needle"), [
    ("bad_json", 3, "not valid JSON"),
    ("duplicate", 4, "duplicate custom_id 'b-1'"),
    ("wrong_url", 2, "'url' must be"),
    ("unknown_assistant", 5, "No assistant found with id 'asst_nope'"),
    ("bad_body", 2, "body.temperature"),
    ("lone_surrogate", 3, "'body.metadata.k': it holds a lone UTF-16 surrogate"),
])
def test_malformed_input_is_refused_with_its_line_number(
        sdk: openai.OpenAI, assistant: Any, pipeline: Stack, case: str, line_no: int,
        needle: str) -> None:
    lines: list[Any] = [batch_line(f"b-{i}", assistant.id, f"q {i}") for i in range(6)]
    if case == "bad_json":
        lines[2] = '{"custom_id": "b-2", "method": "POST",'
    elif case == "duplicate":
        lines[3]["custom_id"] = "b-1"
    elif case == "wrong_url":
        lines[1]["url"] = "/v1/chat/completions"
    elif case == "unknown_assistant":
        lines[4]["body"]["assistant_id"] = "asst_nope"
    elif case == "lone_surrogate":  # json.dumps writes it as the escape "\ud800"
        lines[2]["body"]["metadata"] = {"k": "q \ud800"}
    else:
        lines[1]["body"]["temperature"] = 7
    before = _batch_count(pipeline)
    with pytest.raises(openai.BadRequestError) as err:
        sdk.batches.create(input_file_id=upload(sdk, lines), endpoint="/v1/threads/runs",  # type: ignore[arg-type]
                           completion_window="24h")
    message = err.value.body["message"]  # type: ignore[index]
    assert f"line {line_no}:" in message and needle in message, message
    assert err.value.body["param"] == "input_file_id"  # type: ignore[index]
    assert _batch_count(pipeline) == before  # nothing half-started


def test_create_refusals(sdk: openai.OpenAI, assistant: Any) -> None:
    good = upload(sdk, [batch_line("a", assistant.id, "hi")])
    with pytest.raises(openai.BadRequestError, match="endpoint"):
        sdk.batches.create(input_file_id=good, endpoint="/v1/chat/completions",
                           completion_window="24h")
    with pytest.raises(openai.BadRequestError, match="No such File"):
        sdk.batches.create(input_file_id="file-nope", endpoint="/v1/threads/runs",  # type: ignore[arg-type]
                           completion_window="24h")
    with pytest.raises(openai.NotFoundError):
        sdk.batches.retrieve("batch_nope")


def _queued_run_ids(queue: Any, name: str) -> set[str]:
    """Run ids of the runs.advance messages waiting in a Celery queue (kombu's Redis list)."""
    import base64

    found = set()
    for raw in queue.lrange(name, 0, -1):
        message = json.loads(raw)
        if message.get("headers", {}).get("task") == "runs.advance":
            found.add(json.loads(base64.b64decode(message["body"]))[0][0])
    return found


def test_batch_runs_wait_in_their_own_queue_and_the_sweeper_leaves_them(
        sdk: openai.OpenAI, assistant: Any, pipeline: Stack) -> None:
    import redis

    for proc in list(pipeline.workers):
        pipeline.kill_group(proc)
        pipeline.workers.remove(proc)
    feeder_only = pipeline.start_worker("--queues", "maintenance", "--concurrency", "2")
    queue = redis.Redis.from_url(pipeline.env["ORCH_REDIS_URL"])
    try:
        batch = sdk.batches.create(
            input_file_id=upload(sdk, [batch_line(f"w-{i}", assistant.id, f"waiting {i}")
                                       for i in range(IN_FLIGHT + 10)]),
            endpoint="/v1/threads/runs", completion_window="24h")  # type: ignore[arg-type]
        wait_for(lambda: queue.llen("batch") == IN_FLIGHT, timeout=20)
        time.sleep(7)  # past ORCH_QUEUED_STALE_SECONDS=5: several sweeps and feeds
        assert queue.llen("batch") == IN_FLIGHT, "fed past the cap"
        ours = _queued_run_ids(queue, "batch")
        assert len(ours) == IN_FLIGHT
        linked = db_scalar(pipeline, "SELECT count(*) FROM batch_requests WHERE batch_id = :b"
                                     " AND run_id IS NOT NULL", b=batch.id)
        assert linked == IN_FLIGHT
        resent = ours & _queued_run_ids(queue, "runs")
        assert not resent, f"the sweeper re-sent waiting batch runs: {sorted(resent)[:3]}"
    finally:
        pipeline.kill_group(feeder_only)
        pipeline.workers.remove(feeder_only)
        pipeline.start_worker("--concurrency", "64")
    done = _wait_final(sdk, batch.id, timeout=60)
    assert done.status == "completed" and done.request_counts.completed == IN_FLIGHT + 10  # type: ignore[union-attr]


def test_worker_killed_mid_batch_every_line_answered_once(
        sdk: openai.OpenAI, assistant: Any, pipeline: Stack) -> None:
    pipeline.model.script({"match": "crash question", "reply": {"delay_ms": 200,
                                                                 "content": "survived"}})
    n = 200
    batch = sdk.batches.create(
        input_file_id=upload(sdk, [batch_line(f"k-{i}", assistant.id, f"crash question {i}")
                                   for i in range(n)]),
        endpoint="/v1/threads/runs", completion_window="24h")  # type: ignore[arg-type]
    for threshold in (30, 100):
        wait_for(lambda t=threshold: sdk.batches.retrieve(batch.id).request_counts.completed  # type: ignore[union-attr]
                 >= t, timeout=90)
        for proc in list(pipeline.workers):  # the feeder and the runs go down together
            pipeline.kill_group(proc)
            pipeline.workers.remove(proc)
        pipeline.start_worker("--concurrency", "64")
    done = _wait_final(sdk, batch.id, timeout=120)
    assert done.status == "completed" and done.request_counts.completed == n  # type: ignore[union-attr]
    out = read_jsonl(sdk, done.output_file_id)
    assert sorted(x["custom_id"] for x in out) == sorted(f"k-{i}" for i in range(n))
    assert all(len(x["response"]["body"]["messages"]) == 1 for x in out)
    linked = ("SELECT count(*) FROM batch_requests WHERE batch_id = :b")
    assert db_scalar(pipeline, linked + " AND run_id IS NOT NULL", b=batch.id) == n
    threads = ("SELECT count(*) FROM runs WHERE thread_id IN (SELECT runs.thread_id FROM runs"
               " JOIN batch_requests ON batch_requests.run_id = runs.id"
               " WHERE batch_requests.batch_id = :b)")
    assert db_scalar(pipeline, threads, b=batch.id) == n  # no stray second run anywhere
    answers = ("SELECT count(*) FROM messages JOIN batch_requests ON"
               " batch_requests.run_id = messages.run_id WHERE batch_requests.batch_id = :b"
               " AND messages.role = 'assistant'")
    assert db_scalar(pipeline, answers, b=batch.id) == n  # exactly one answer per line


def test_lines_on_existing_threads(sdk: openai.OpenAI, assistant: Any, pipeline: Stack) -> None:
    first = sdk.beta.threads.create(messages=[{"role": "user", "content": "earlier talk"}])
    second = sdk.beta.threads.create()

    def on(thread_id: str, cid: str, question: str) -> dict[str, Any]:
        return {"custom_id": cid, "method": "POST", "url": f"/v1/threads/{thread_id}/runs",
                "body": {"assistant_id": assistant.id, "additional_messages": [
                    {"role": "user", "content": question}]}}

    lines = [on(first.id, "t-1", "follow-up one"), on(second.id, "t-2", "fresh two"),
             on(first.id, "t-3", "same thread again"),
             batch_line("t-4", assistant.id, "new thread four")]
    batch = sdk.batches.create(input_file_id=upload(sdk, lines), endpoint="/v1/threads/runs",  # type: ignore[arg-type]
                               completion_window="24h")
    done = _wait_final(sdk, batch.id, timeout=60)
    assert done.status == "completed", done
    out = {x["custom_id"]: x for x in read_jsonl(sdk, done.output_file_id)}
    errors = {x["custom_id"]: x for x in read_jsonl(sdk, done.error_file_id)}
    assert out["t-1"]["response"]["body"]["thread_id"] == first.id
    assert out["t-2"]["response"]["body"]["thread_id"] == second.id
    assert out["t-4"]["response"]["body"]["thread_id"] not in (first.id, second.id)
    history = sdk.beta.threads.messages.list(thread_id=first.id, order="asc").data
    assert [m.content[0].text.value for m in history][:3] == [  # type: ignore[union-attr]
        "earlier talk", "follow-up one", "Echo: follow-up one"]
    # Line 3 names the thread of line 1, fed in the same chunk: the run service's thread lock
    # refuses it, the chunk is fed again without it, and the error file says why.
    refused = errors["t-3"]
    assert refused["response"]["status_code"] == 400
    assert "already has an active run" in refused["error"]["message"]
    assert refused["response"]["body"]["error"]["type"] == "invalid_request_error"
    assert done.request_counts.failed == 1  # type: ignore[union-attr]
    assert len(out) + len(errors) == 4


def test_nul_in_custom_id_is_refused(sdk: openai.OpenAI, assistant: Any) -> None:
    with pytest.raises(openai.BadRequestError, match="line 1:"):
        sdk.batches.create(input_file_id=upload(sdk, [batch_line("a\x00b", assistant.id, "x")]),
                           endpoint="/v1/threads/runs", completion_window="24h")  # type: ignore[arg-type]


def test_batch_past_its_window_expires(sdk: openai.OpenAI, assistant: Any,
                                       pipeline: Stack) -> None:
    pipeline.model.script({"match": "late question", "reply": {"delay_ms": 400,
                                                                "content": "late"}})
    n = 120
    batch = sdk.batches.create(
        input_file_id=upload(sdk, [batch_line(f"e-{i}", assistant.id, f"late question {i}")
                                   for i in range(n)]),
        endpoint="/v1/threads/runs", completion_window="24h")  # type: ignore[arg-type]
    wait_for(lambda: sdk.batches.retrieve(batch.id).request_counts.completed >= 5,  # type: ignore[union-attr]
             timeout=60)
    # Stand in for 24 hours passing: the window ends now.
    db_execute(pipeline, "UPDATE batches SET expires_at = created_at - 1 WHERE id = :b",
               b=batch.id)
    done = _wait_final(sdk, batch.id, timeout=60)
    assert done.status == "expired" and done.expired_at and done.cancelled_at is None
    counts = done.request_counts
    assert counts is not None and 5 <= counts.completed < n
    assert len(read_jsonl(sdk, done.output_file_id)) == counts.completed
    assert db_scalar(pipeline, ACTIVE_BATCH_RUNS, b=batch.id) == 0
