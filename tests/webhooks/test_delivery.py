"""Deliveries end to end: SDK run -> signed event at a real loopback receiver; retries, log."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from tests.support.receiver import Answer, Receiver, receiver
from tests.support.stack import Stack
from tests.workers.conftest import wait_for

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "parameters": {"type": "object", "properties": {}}}}


def verify(secret: str, got: Any) -> dict[str, Any]:
    """The body, verified with the standardwebhooks library (raises if the signature is bad)."""
    return dict(Webhook(secret).verify(got.body, got.headers))


def deliveries(http: httpx.Client, endpoint_id: str) -> list[dict[str, Any]]:
    """The endpoint's delivery log, newest first."""
    r = http.get(f"/webhook_endpoints/{endpoint_id}/deliveries")
    assert r.status_code == 200, r.text
    return list(r.json()["data"])


def settled(http: httpx.Client, endpoint_id: str, status: str,
            timeout: float = 40) -> dict[str, Any]:
    """Wait until the newest delivery has `status`."""
    def check() -> dict[str, Any] | None:
        log = deliveries(http, endpoint_id)
        return log[0] if log and log[0]["status"] == status else None
    return dict(wait_for(check, timeout=timeout, every=0.2))


def run_to_end(sdk: openai.OpenAI, assistant: Any, text: str, **extra: Any) -> Any:
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": text}])
    return sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id,
                                                 poll_interval_ms=100, **extra)


def test_sdk_user_gets_signed_completed_event_equal_to_retrieve(
        sdk: openai.OpenAI, http: httpx.Client, rx: Receiver, assistant: Any,
        register: Callable[..., dict[str, Any]]) -> None:
    ep = register(rx.url, events=["thread.run.completed"])
    run = run_to_end(sdk, assistant, "hello webhook")
    assert run.status == "completed"
    got = rx.wait(1)[0]
    event = verify(ep["secret"], got)
    assert event["type"] == "thread.run.completed" and event["object"] == "event"
    assert event["id"] == got.headers["webhook-id"] and isinstance(event["created_at"], int)
    retrieved = sdk.beta.threads.runs.with_raw_response.retrieve(
        thread_id=run.thread_id, run_id=run.id)
    assert event["data"] == json.loads(retrieved.text)
    assert got.headers["content-type"] == "application/json"
    with pytest.raises(WebhookVerificationError):
        Webhook(http.get("/webhook_endpoints/run_secret").json()["secret"]).verify(
            got.body, got.headers)
    log = settled(http, ep["id"], "succeeded")
    assert log["event_id"] == event["id"] and log["run_id"] == run.id
    assert log["attempt_count"] == 1 and log["last_status_code"] == 200
    assert log["attempts"][0]["status_code"] == 200
    assert log["attempts"][0]["response_excerpt"] == "ok"
    assert log["attempts"][0]["latency_ms"] >= 0
    time.sleep(1.5)
    assert len(rx.received) == 1  # exactly one event: queued / in_progress are not sent


def test_event_filter_and_requires_action_and_failed(
        sdk: openai.OpenAI, live: Stack, rx: Receiver,
        register: Callable[..., dict[str, Any]]) -> None:
    ep = register(rx.url, events=["thread.run.requires_action", "thread.run.cancelled"])
    asst = sdk.beta.assistants.create(model="m", tools=[WEATHER])  # type: ignore[list-item]
    live.model.script({"match": "weather hook?", "times": 1, "reply": {
        "tool_calls": [{"name": "get_weather", "arguments": "{}"}]}})
    run = run_to_end(sdk, asst, "weather hook?")
    assert run.status == "requires_action"
    first = verify(ep["secret"], rx.wait(1)[0])
    assert first["type"] == "thread.run.requires_action"
    assert first["data"]["required_action"]["submit_tool_outputs"]["tool_calls"][0]["id"] == (
        run.required_action.submit_tool_outputs.tool_calls[0].id)  # type: ignore[union-attr]
    sdk.beta.threads.runs.cancel(thread_id=run.thread_id, run_id=run.id)
    second = verify(ep["secret"], rx.wait(2)[1])
    assert second["type"] == "thread.run.cancelled" and second["data"]["status"] == "cancelled"
    assert second["id"] != first["id"]


def test_failed_and_expired_events(sdk: openai.OpenAI, live: Stack, rx: Receiver,
                                   register: Callable[..., dict[str, Any]]) -> None:
    ep = register(rx.url, events=["thread.run.failed", "thread.run.expired"])
    asst = sdk.beta.assistants.create(model="m", tools=[WEATHER])  # type: ignore[list-item]
    live.model.script({"match": "model down hook", "times": None, "reply": {"status": 500}},
                      {"match": "left waiting hook", "times": 1, "reply": {
                          "tool_calls": [{"name": "get_weather", "arguments": "{}"}]}})
    failed = run_to_end(sdk, asst, "model down hook")
    waiting = run_to_end(sdk, asst, "left waiting hook")
    assert (failed.status, waiting.status) == ("failed", "requires_action")
    # ORCH_RUN_EXPIRY_SECONDS=30: the sweeper expires the waiting run, in its own transaction.
    got = rx.wait(2, timeout=70)
    events = {e["type"]: e for e in (verify(ep["secret"], g) for g in got)}
    assert events["thread.run.failed"]["data"]["id"] == failed.id
    assert events["thread.run.failed"]["data"]["last_error"]["code"] == "server_error"
    assert events["thread.run.expired"]["data"]["id"] == waiting.id
    assert events["thread.run.expired"]["data"]["status"] == "expired"


def test_v1_endpoint_gets_the_v1_run_shape(sdk: openai.OpenAI, live: Stack, rx: Receiver,
                                           assistant: Any) -> None:
    v1 = {"Authorization": f"Bearer {live.api.keys[0]}", "OpenAI-Beta": "assistants=v1"}
    with httpx.Client(base_url=live.api.base_url, headers=v1, timeout=30) as c:
        ep = c.post("/webhook_endpoints", json={"url": rx.url}).json()
        try:
            assert ep["api_version"] == "v1"
            run = run_to_end(sdk, assistant, "old client")
            event = verify(ep["secret"], rx.wait(1)[0])
            assert event["data"] == c.get(f"/threads/{run.thread_id}/runs/{run.id}").json()
            assert event["data"]["file_ids"] == []
        finally:
            c.delete(f"/webhook_endpoints/{ep['id']}")


def test_receiver_500_then_200_is_retried_with_the_same_id(
        sdk: openai.OpenAI, http: httpx.Client, rx: Receiver, assistant: Any,
        register: Callable[..., dict[str, Any]]) -> None:
    ep = register(rx.url)
    rx.script(Answer(500, body="boom"), Answer(503, body="later"))
    run_to_end(sdk, assistant, "retry me")
    got = rx.wait(3)
    assert len({g.headers["webhook-id"] for g in got}) == 1
    assert [g.answered for g in got] == [500, 503, 200]
    assert all(verify(ep["secret"], g)["type"] == "thread.run.completed" for g in got)
    assert got[1].at - got[0].at >= 0.2  # backed off (base 0.5 s, jitter down to half)
    log = settled(http, ep["id"], "succeeded")
    assert [a["status_code"] for a in log["attempts"]] == [500, 503, 200]
    assert log["attempts"][0]["response_excerpt"] == "boom"
    assert "500" in log["attempts"][0]["error"]


def test_receiver_down_then_up(sdk: openai.OpenAI, http: httpx.Client, assistant: Any,
                               register: Callable[..., dict[str, Any]]) -> None:
    rx = Receiver()
    ep = register(rx.url)  # nobody listens yet: connection refused
    run_to_end(sdk, assistant, "nobody home")
    wait_for(lambda: any(d["attempt_count"] >= 2 for d in deliveries(http, ep["id"])), 20)
    failed = deliveries(http, ep["id"])[0]
    assert failed["status"] == "pending" and failed["attempts"][0]["status_code"] is None
    assert "ConnectError" in failed["attempts"][0]["error"]
    rx.start()
    try:
        got = rx.wait(1)
        assert verify(ep["secret"], got[0])["id"] == failed["event_id"]
        settled(http, ep["id"], "succeeded")
    finally:
        rx.stop()


def test_slow_receiver_times_out_then_retry_succeeds(
        sdk: openai.OpenAI, http: httpx.Client, rx: Receiver, assistant: Any,
        register: Callable[..., dict[str, Any]]) -> None:
    ep = register(rx.url)
    rx.script(Answer(200, delay=4))  # ORCH_WEBHOOK_TIMEOUT is 2 s
    run_to_end(sdk, assistant, "slow one")
    log = settled(http, ep["id"], "succeeded")
    first = log["attempts"][0]
    assert first["status_code"] is None and "timeout" in first["error"]
    assert 1900 <= first["latency_ms"] < 3900
    assert log["attempts"][-1]["status_code"] == 200
    ids = {g.headers["webhook-id"] for g in rx.wait(2)}
    assert ids == {log["event_id"]}


def test_receiver_dripping_its_headers_is_cut_at_the_deadline(
        sdk: openai.OpenAI, http: httpx.Client, rx: Receiver, assistant: Any,
        register: Callable[..., dict[str, Any]]) -> None:
    ep = register(rx.url)
    rx.script(Answer(200, drip=0.5))  # 5 s of headers, each line well inside the read timeout
    run_to_end(sdk, assistant, "drip feed")
    log = settled(http, ep["id"], "succeeded")
    first = log["attempts"][0]
    assert first["status_code"] is None and "timeout" in first["error"]
    assert 1900 <= first["latency_ms"] < 3500  # the 2 s budget (undripped: 5 s)
    assert log["attempts"][-1]["status_code"] == 200 and len(log["attempts"]) == 2


def test_secret_rotation_signs_with_both_during_grace(
        sdk: openai.OpenAI, http: httpx.Client, rx: Receiver, assistant: Any,
        register: Callable[..., dict[str, Any]]) -> None:
    ep = register(rx.url)
    new = http.post(f"/webhook_endpoints/{ep['id']}/rotate_secret").json()["secret"]
    run_to_end(sdk, assistant, "rotated")
    got = rx.wait(1)[0]
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    assert verify(new, got)["type"] == verify(ep["secret"], got)["type"]


def test_run_webhook_url_signed_with_tenant_run_secret(
        sdk: openai.OpenAI, http: httpx.Client, rx: Receiver, assistant: Any) -> None:
    secret = http.get("/webhook_endpoints/run_secret").json()["secret"]
    run = run_to_end(sdk, assistant, "per run", extra_body={"webhook_url": rx.url})
    got = rx.wait(1)[0]
    event = verify(secret, got)
    assert event["type"] == "thread.run.completed" and event["data"]["id"] == run.id
    assert "webhook_url" not in event["data"]
    other = run_to_end(sdk, assistant, "no hook here")
    assert other.status == "completed"
    time.sleep(1.5)
    assert len(rx.received) == 1
    rotated = http.post("/webhook_endpoints/run_secret/rotate").json()
    assert rotated["secret"] != secret and rotated["previous_secret_expires_at"] is not None
    assert http.get("/webhook_endpoints/run_secret").json()["secret"] == rotated["secret"]
    run_to_end(sdk, assistant, "after rotation", extra_body={"webhook_url": rx.url})
    got = rx.wait(2)[1]
    assert verify(rotated["secret"], got)["id"] == verify(secret, got)["id"]  # both sign


def test_run_webhook_url_deliveries_are_logged_and_replayable(
        sdk: openai.OpenAI, http: httpx.Client, other_http: httpx.Client, rx: Receiver,
        assistant: Any) -> None:
    run = run_to_end(sdk, assistant, "logged per run", extra_body={"webhook_url": rx.url})
    first = rx.wait(1)[0]

    def mine() -> dict[str, Any] | None:
        data = http.get("/webhook_endpoints/run_deliveries").json()["data"]
        hits = [d for d in data if d["run_id"] == run.id and d["status"] == "succeeded"]
        return hits[0] if hits else None

    logged = wait_for(mine, timeout=20)
    assert logged["endpoint_id"] is None and logged["event_id"] == first.headers["webhook-id"]
    assert logged["attempts"][0]["status_code"] == 200
    theirs = other_http.get("/webhook_endpoints/run_deliveries").json()["data"]
    assert logged["id"] not in [d["id"] for d in theirs]
    assert other_http.post(
        f"/webhook_endpoints/run_deliveries/{logged['id']}/replay").status_code == 404
    r = http.post(f"/webhook_endpoints/run_deliveries/{logged['id']}/replay")
    assert r.status_code == 200 and r.json()["status"] == "pending", r.text
    again = rx.wait(2)[1]
    assert again.headers["webhook-id"] == first.headers["webhook-id"]
    one = http.get(f"/webhook_endpoints/run_deliveries/{logged['id']}").json()
    assert one["id"] == logged["id"]


def test_dead_letter_disables_endpoint_and_replay(
        sdk: openai.OpenAI, http: httpx.Client, rx: Receiver, assistant: Any,
        register: Callable[..., dict[str, Any]]) -> None:
    ep = register(rx.url)
    rx.script(*[Answer(500)] * 200)
    run_to_end(sdk, assistant, "dead one")
    run_to_end(sdk, assistant, "dead two")
    # ORCH_WEBHOOK_RETRY_WINDOW=15: both dead-letter; 2 dead letters disable the endpoint.
    wait_for(lambda: [d["status"] for d in deliveries(http, ep["id"])] == ["failed", "failed"],
             timeout=60, every=0.5)
    state = http.get(f"/webhook_endpoints/{ep['id']}").json()
    assert state["status"] == "disabled"
    assert "2 consecutive failed deliveries" in state["disabled_reason"]
    dead = deliveries(http, ep["id"])[0]
    assert dead["attempt_count"] >= 3 and dead["next_attempt_at"] is None
    r = http.post(f"/webhook_endpoints/{ep['id']}/deliveries/{dead['id']}/replay")
    assert r.status_code == 400 and "disabled" in r.json()["error"]["message"]
    http.post(f"/webhook_endpoints/{ep['id']}", json={"disabled": False})
    rx.answers.clear()
    seen = len(rx.received)
    r = http.post(f"/webhook_endpoints/{ep['id']}/deliveries/{dead['id']}/replay")
    assert r.status_code == 200 and r.json()["status"] == "pending", r.text
    again = rx.wait(seen + 1)[-1]
    assert again.headers["webhook-id"] == dead["event_id"] and again.answered == 200
    settled(http, ep["id"], "succeeded")
    r = http.post(f"/webhook_endpoints/{ep['id']}/deliveries/{dead['id']}/replay")
    assert r.status_code == 200  # a succeeded delivery can be replayed too
    missing = http.post(f"/webhook_endpoints/{ep['id']}/deliveries/whdel_nope/replay")
    assert missing.status_code == 404


def test_redirect_is_not_followed(sdk: openai.OpenAI, http: httpx.Client, rx: Receiver,
                                  assistant: Any,
                                  register: Callable[..., dict[str, Any]]) -> None:
    with receiver() as target:
        ep = register(rx.url)
        rx.script(Answer(307, headers={"Location": target.url}),
                  Answer(302, headers={"Location": "http://169.254.169.254/latest"}))
        run_to_end(sdk, assistant, "redirected")
        log = settled(http, ep["id"], "succeeded")
        assert [a["status_code"] for a in log["attempts"]] == [307, 302, 200]
        assert "not followed" in log["attempts"][0]["error"]
        assert target.received == []
