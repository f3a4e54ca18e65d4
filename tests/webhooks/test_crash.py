"""Crash safety: a worker killed mid-delivery, a lost deliver message; nothing is lost."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest
import redis
from standardwebhooks import Webhook

from tests.support.receiver import Answer, Receiver
from tests.support.stack import Stack
from tests.webhooks.test_delivery import deliveries, settled
from tests.workers.conftest import wait_for

pytestmark = pytest.mark.slow


def test_worker_killed_mid_delivery_is_delivered_after_restart(
        sdk: openai.OpenAI, http: httpx.Client, live: Stack, rx: Receiver, assistant: Any,
        register: Callable[..., dict[str, Any]]) -> None:
    ep = register(rx.url)
    arrived = threading.Event()
    rx.on_request = lambda _got: arrived.set()
    rx.script(Answer(200, delay=1.5))  # the worker is inside the POST while we kill it
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "kill me"}])
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id,
                                                poll_interval_ms=100)
    assert run.status == "completed"
    assert arrived.wait(20), live.worker_log()
    for proc in list(live.workers):
        live.kill_group(proc)
    live.workers = []
    log = deliveries(http, ep["id"])
    assert [d["status"] for d in log] == ["pending"]
    assert log[0]["attempt_count"] == 1 and log[0]["attempts"] == []  # died before logging
    live.start_worker()
    done = settled(http, ep["id"], "succeeded", timeout=60)
    got = rx.wait(2)
    assert {g.headers["webhook-id"] for g in got} == {done["event_id"]}
    assert all(Webhook(ep["secret"]).verify(g.body, g.headers)["data"]["id"] == run.id
               for g in got)
    assert done["attempt_count"] == 2 and done["attempts"][-1]["status_code"] == 200


def test_lost_deliver_message_is_recovered_by_the_sweeper(
        sdk: openai.OpenAI, http: httpx.Client, live: Stack, rx: Receiver, assistant: Any,
        register: Callable[..., dict[str, Any]]) -> None:
    ep = register(rx.url)
    for proc in list(live.workers):
        live.kill_group(proc)
    # This worker makes transitions but does not deliver: the deliver task waits in Redis.
    live.workers = []
    runs_only = live.start_worker("--queues", "runs,maintenance", "--concurrency", "1")
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "lose it"}])
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id,
                                                poll_interval_ms=100)
    assert run.status == "completed"
    broker = redis.Redis.from_url(live.env["ORCH_REDIS_URL"])
    wait_for(lambda: broker.llen("webhooks") >= 1, timeout=10)
    live.kill_group(runs_only)  # the worker that made the transition dies ...
    broker.delete("webhooks")  # ... and the broker loses the message (e.g. no AOF)
    live.workers = []
    assert [d["status"] for d in deliveries(http, ep["id"])] == ["pending"]
    live.start_worker()
    done = settled(http, ep["id"], "succeeded", timeout=60)
    got = rx.wait(1)
    assert Webhook(ep["secret"]).verify(got[0].body, got[0].headers)["data"]["id"] == run.id
    assert done["attempt_count"] == 1


def test_runs_in_flight_when_worker_dies_each_get_their_event(
        sdk: openai.OpenAI, http: httpx.Client, live: Stack, rx: Receiver, assistant: Any,
        register: Callable[..., dict[str, Any]]) -> None:
    ep = register(rx.url, events=["thread.run.completed"])
    live.model.script({"match": "inflight", "times": None, "reply": {
        "content": "done", "delay_ms": 300}})
    threads = [sdk.beta.threads.create(messages=[{"role": "user", "content": f"inflight {i}"}])
               for i in range(8)]
    runs = [sdk.beta.threads.runs.create(thread_id=t.id, assistant_id=assistant.id)
            for t in threads]
    wait_for(lambda: len(rx.received) >= 1, timeout=30)
    for proc in list(live.workers):
        live.kill_group(proc)
    live.workers = []
    live.start_worker()
    ids = {r.id for r in runs}
    wait_for(lambda: ids <= {Webhook(ep["secret"]).verify(g.body, g.headers)["data"]["id"]
                             for g in list(rx.received)}, timeout=90, every=0.5)
    wait_for(lambda: all(d["status"] == "succeeded" for d in deliveries(http, ep["id"])), 30)
    log = deliveries(http, ep["id"])
    assert {d["run_id"] for d in log} == ids and len(log) == len(ids)  # one delivery per run
    by_run: dict[str, set[str]] = {}
    for g in rx.received:
        event = Webhook(ep["secret"]).verify(g.body, g.headers)
        by_run.setdefault(event["data"]["id"], set()).add(g.headers["webhook-id"])
    assert all(len(v) == 1 for v in by_run.values())  # duplicates share one webhook-id
