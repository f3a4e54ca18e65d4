"""Responses' webhooks end to end: OpenAI's thin `response.*` events, verified by the SDK."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest
from openai.types.webhooks import (
    ResponseCancelledWebhookEvent,
    ResponseCompletedWebhookEvent,
    ResponseFailedWebhookEvent,
    ResponseIncompleteWebhookEvent,
)

from tests.support.receiver import Received, Receiver, receiver
from tests.support.stack import Stack
from tests.webhooks.test_delivery import run_to_end, settled
from tests.workers.conftest import wait_for

MODEL = "scripted-model"
Register = Callable[..., dict[str, Any]]


def unwrap(sdk: openai.OpenAI, secret: str, got: Received) -> Any:
    """The event as the official SDK's `webhooks.unwrap` verifies and parses it."""
    return sdk.webhooks.unwrap(got.body, got.headers, secret=secret)


def ended(sdk: openai.OpenAI, response_id: str, status: str) -> Any:
    """Poll a background response until it has `status`."""
    return wait_for(lambda: (r := sdk.responses.retrieve(response_id)).status == status and r)


def test_completed_plain_and_background_are_thin_events_the_sdk_verifies(
        sdk: openai.OpenAI, http: httpx.Client, rx: Receiver, register: Register) -> None:
    ep = register(rx.url, events=["response.completed"])
    with receiver() as every:
        star = register(every.url, events=["*"])
        plain = sdk.responses.create(model=MODEL, input="hook plain hello")
        assert plain.status == "completed"
        background = sdk.responses.create(model=MODEL, input="hook background hello",
                                          background=True)
        ended(sdk, background.id, "completed")
        got = rx.wait(2)
        events = [unwrap(sdk, ep["secret"], g) for g in got]
        for event, g in zip(events, got, strict=True):
            assert isinstance(event, ResponseCompletedWebhookEvent)
            assert event.type == "response.completed" and event.object == "event"
            assert event.id.startswith("evt_") and event.id == g.headers["webhook-id"]
            assert isinstance(event.created_at, int)
            assert abs(event.created_at - time.time()) < 60
            assert json.loads(g.body) == {"id": event.id, "object": "event",
                                          "created_at": event.created_at,
                                          "type": "response.completed",
                                          "data": {"id": event.data.id}}
        assert sorted(e.data.id for e in events) == sorted([plain.id, background.id])
        # The receiver of "*" gets the same two events, under its own secret only.
        seen = [unwrap(sdk, star["secret"], g) for g in every.wait(2)]
        assert sorted(e.data.id for e in seen) == sorted([plain.id, background.id])
        assert {e.id for e in seen} == {e.id for e in events}  # one event, two deliveries
        with pytest.raises(openai.InvalidWebhookSignatureError):
            unwrap(sdk, star["secret"], got[0])
        time.sleep(1.5)
        assert len(rx.received) == 2 and len(every.received) == 2  # nothing but the ends
    log = settled(http, ep["id"], "succeeded")
    assert log["event_type"] == "response.completed" and log["run_id"] in (
        plain.id, background.id)


def test_assistant_run_events_and_response_events_reach_only_their_subscribers(
        sdk: openai.OpenAI, rx: Receiver, register: Register, assistant: Any) -> None:
    runs_only = register(rx.url, events=["thread.run.completed", "thread.run.failed"])
    with receiver() as responses_rx:
        responses_only = register(responses_rx.url, events=["response.completed"])
        r = sdk.responses.create(model=MODEL, input="hook: not for run endpoints")
        run = run_to_end(sdk, assistant, "hook: a run for run endpoints")
        assert (r.status, run.status) == ("completed", "completed")
        got = rx.wait(1)[0]
        event = json.loads(got.body)
        assert event["type"] == "thread.run.completed" and event["data"]["id"] == run.id
        assert unwrap(sdk, runs_only["secret"], got).type == "thread.run.completed"
        response_event = unwrap(sdk, responses_only["secret"], responses_rx.wait(1)[0])
        assert response_event.type == "response.completed" and response_event.data.id == r.id
        time.sleep(1.5)
        assert len(rx.received) == 1 and len(responses_rx.received) == 1


def test_failed_response_sends_response_failed(sdk: openai.OpenAI, live: Stack, rx: Receiver,
                                               register: Register) -> None:
    ep = register(rx.url, events=["response.failed", "response.completed"])
    live.model.script({"match": "hook model down", "times": None, "reply": {"status": 500}})
    r = sdk.responses.create(model=MODEL, input="hook model down", background=True)
    failed = ended(sdk, r.id, "failed")
    assert failed.error is not None and failed.error.code == "server_error"
    event = unwrap(sdk, ep["secret"], rx.wait(1)[0])
    assert isinstance(event, ResponseFailedWebhookEvent)
    assert event.type == "response.failed" and event.data.id == r.id
    time.sleep(1)
    assert len(rx.received) == 1


def test_cut_off_response_sends_response_incomplete(sdk: openai.OpenAI, live: Stack,
                                                    rx: Receiver, register: Register) -> None:
    ep = register(rx.url, events=["response.incomplete"])
    live.model.script({"match": "hook ramble on", "times": 1, "reply": {
        "content": "words words", "finish_reason": "length",
        "usage": {"prompt_tokens": 20, "completion_tokens": 16, "total_tokens": 36}}})
    r = sdk.responses.create(model=MODEL, input="hook ramble on", max_output_tokens=16)
    assert r.status == "incomplete"
    assert r.incomplete_details is not None
    assert r.incomplete_details.reason == "max_output_tokens"
    event = unwrap(sdk, ep["secret"], rx.wait(1)[0])
    assert isinstance(event, ResponseIncompleteWebhookEvent)
    assert event.type == "response.incomplete" and event.data.id == r.id


def test_cancelled_background_response_sends_response_cancelled_only(
        sdk: openai.OpenAI, live: Stack, rx: Receiver, register: Register) -> None:
    ep = register(rx.url, events=["response.cancelled", "response.completed"])
    live.model.script({"match": "hook slow cancel", "times": 1, "reply": {
        "content": "too late", "delay_ms": 3000}})
    r = sdk.responses.create(model=MODEL, input="hook slow cancel", background=True)
    wait_for(lambda: sdk.responses.retrieve(r.id).status == "in_progress")
    assert sdk.responses.cancel(r.id).status == "cancelled"
    event = unwrap(sdk, ep["secret"], rx.wait(1)[0])
    assert isinstance(event, ResponseCancelledWebhookEvent)
    assert event.type == "response.cancelled" and event.data.id == r.id
    time.sleep(3.5)  # the model's late answer arrives and is dropped: no response.completed
    assert len(rx.received) == 1
    assert sdk.responses.retrieve(r.id).status == "cancelled"


def test_unstored_response_is_not_announced(sdk: openai.OpenAI, rx: Receiver,
                                            register: Register) -> None:
    register(rx.url, events=["response.completed"])
    r = sdk.responses.create(model=MODEL, input="hook unstored", store=False)
    kept = sdk.responses.create(model=MODEL, input="hook stored")
    assert (r.status, kept.status) == ("completed", "completed")
    rx.wait(1)
    time.sleep(1.5)
    assert [json.loads(g.body)["data"]["id"] for g in rx.received] == [kept.id]


def test_event_names_of_both_faces_are_accepted_and_unknown_ones_are_400s(
        http: httpx.Client, rx: Receiver, register: Register) -> None:
    both = register(rx.url, events=["thread.run.completed", "response.completed",
                                    "response.failed", "response.cancelled",
                                    "response.incomplete", "batch.completed"])
    assert both["events"] == ["thread.run.completed", "response.completed", "response.failed",
                              "response.cancelled", "response.incomplete", "batch.completed"]
    before = http.get("/webhook_endpoints", params={"limit": 100}).json()["data"]
    r = http.post("/webhook_endpoints", json={
        "url": rx.url, "events": ["response.completed", "response.exploded"]})
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["param"] == "events[1]" and error["type"] == "invalid_request_error"
    assert "Unknown event 'response.exploded'" in error["message"]
    assert "response.completed" in error["message"] and "thread.run.completed" in (
        error["message"])
    r = http.post(f"/webhook_endpoints/{both['id']}", json={
        "events": ["response.completed", "response.created"]})
    assert r.status_code == 400 and r.json()["error"]["param"] == "events[1]", r.text
    assert http.get("/webhook_endpoints", params={"limit": 100}).json()["data"] == before
