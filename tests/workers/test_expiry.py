"""expires_at through real workers: queued, in_progress and requires_action runs past it end
`expired` (stream and webhook events included) and stay so; files past their expires_after
are deleted by the maintenance worker with their vector-store links, references and blobs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from standardwebhooks import Webhook

from tests.support.receiver import Receiver, receiver
from tests.support.servers import postgres_database, sqlite_database
from tests.support.stack import Stack, stack
from tests.workers.conftest import wait_for

pytestmark = pytest.mark.slow
EXPIRY = 5  # seconds from creation (ORCH_RUN_EXPIRY_SECONDS)
SETTINGS = {
    "ORCH_RUN_EXPIRY_SECONDS": str(EXPIRY),
    "ORCH_MODEL_TIMEOUT": "20",
    "ORCH_WEBHOOK_ALLOW_PRIVATE": "true",
    "ORCH_WEBHOOK_SWEEP_INTERVAL": "0.5",
    "ORCH_FILE_MIN_EXPIRY_SECONDS": "1",
    "ORCH_FILE_SWEEP_INTERVAL": "1",
}
V1 = {"OpenAI-Beta": "assistants=v1"}
WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}}}}


@pytest.fixture(scope="module")
def expiring(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A pipeline whose runs expire 5 s after creation and whose file sweeper runs every 1 s."""
    workdir = tmp_path_factory.mktemp(f"expiry-{backend}")
    db = postgres_database() if backend == "postgres" else sqlite_database(workdir)
    with db as url, stack(url, workdir, workers=0, **SETTINGS) as st:
        yield st


ALL_QUEUES = "runs,batch,webhooks,maintenance"
_consuming: dict[int, str] = {}  # id(stack) -> the queues its one worker consumes


def _workers(st: Stack, queues: str = ALL_QUEUES) -> None:
    """Exactly one live worker consuming `queues`, ready before a run's deadline starts."""
    if _consuming.get(id(st)) == queues and all(p.poll() is None for p in st.workers):
        return
    st.stop_workers()
    st.start_worker("--queues", queues, "--concurrency", "4")
    wait_for(lambda: " ready." in st.worker_log(), timeout=60)
    _consuming[id(st)] = queues


@pytest.fixture()
def sdk(expiring: Stack) -> openai.OpenAI:
    """The newest SDK, first tenant."""
    return openai.OpenAI(base_url=expiring.api.base_url, api_key=expiring.api.keys[0],
                         max_retries=0)


@pytest.fixture()
def http(expiring: Stack) -> Iterator[httpx.Client]:
    """Raw HTTP, first tenant."""
    with httpx.Client(base_url=expiring.api.base_url, timeout=30, headers={
            "Authorization": f"Bearer {expiring.api.keys[0]}"}) as c:
        yield c


@pytest.fixture()
def hook(http: httpx.Client) -> Iterator[tuple[Receiver, str]]:
    """A loopback receiver registered for thread.run.expired; (receiver, secret)."""
    with receiver() as rx:
        ep = http.post("/webhook_endpoints", json={"url": rx.url,
                                                   "events": ["thread.run.expired"]}).json()
        try:
            yield rx, ep["secret"]
        finally:
            http.delete(f"/webhook_endpoints/{ep['id']}")


def _expired_events(rx: Receiver, secret: str, run_id: str) -> list[dict[str, Any]]:
    got = [Webhook(secret).verify(g.body, g.headers) for g in wait_for(
        lambda: [g for g in rx.received if run_id in g.body], timeout=40)]
    return [dict(e) for e in got]


def _stream_events(sdk: openai.OpenAI, thread_id: str, assistant_id: str) -> list[Any]:
    with sdk.beta.threads.runs.stream(thread_id=thread_id, assistant_id=assistant_id) as s:
        return list(s)


def _retrieve(sdk: openai.OpenAI, run: Any) -> Any:
    return sdk.beta.threads.runs.retrieve(run.id, thread_id=run.thread_id)


def test_queued_run_past_expires_at_ends_expired(expiring: Stack, sdk: openai.OpenAI,
                                                 hook: tuple[Receiver, str]) -> None:
    _workers(expiring, "maintenance,webhooks")  # nobody takes runs: they wait in the queue
    asst = sdk.beta.assistants.create(model="m")
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "never picked"}])
    events = _stream_events(sdk, thread.id, asst.id)  # ends when the run does
    assert [e.event for e in events] == ["thread.run.created", "thread.run.queued",
                                         "thread.run.expired"]
    final = events[-1].data
    assert final.status == "expired" and final.expires_at is None
    assert final.started_at is None
    [event] = _expired_events(*hook, final.id)
    assert event["type"] == "thread.run.expired" and event["data"]["status"] == "expired"
    # A run worker arriving later takes the run's message and leaves the run as it is.
    _workers(expiring)
    wait_for(lambda: "succeeded" in expiring.worker_log()
             and "'nothing to do'" in expiring.worker_log(), timeout=60)
    assert _retrieve(sdk, final).status == "expired"
    assert not any("never picked" in json.dumps(r) for r in expiring.model.requests())
    assert sdk.beta.threads.messages.list(thread_id=thread.id).data[0].role == "user"


def test_in_progress_run_past_expires_at_ends_expired_and_stays(
        expiring: Stack, sdk: openai.OpenAI, hook: tuple[Receiver, str]) -> None:
    _workers(expiring)
    tag = "slow model answer"
    # The model answers long after the run's deadline (but within the model timeout).
    expiring.model.script({"match": tag, "times": 1, "reply": {
        "content": "Too late.", "delay_ms": (EXPIRY + 5) * 1000}})
    asst = sdk.beta.assistants.create(model="m")
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": tag}])
    events = _stream_events(sdk, thread.id, asst.id)
    names = [e.event for e in events]
    assert names[:3] == ["thread.run.created", "thread.run.queued", "thread.run.in_progress"]
    assert names[-1] == "thread.run.expired", names
    run = events[-1].data
    assert run.status == "expired" and run.started_at is not None
    assert any(tag in json.dumps(r) for r in expiring.model.requests())  # a worker held it
    [event] = _expired_events(*hook, run.id)
    assert event["data"]["id"] == run.id
    # The worker's late answer loses its compare-and-set: no message, the run stays expired.
    wait_for(lambda: "stale: dropped" in expiring.worker_log(), timeout=40)
    assert _retrieve(sdk, run).status == "expired"
    msgs = sdk.beta.threads.messages.list(thread_id=thread.id).data
    assert [m.role for m in msgs] == ["user"]
    assert sdk.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id).data == []


def test_unanswered_tool_calls_expire(expiring: Stack, sdk: openai.OpenAI) -> None:
    _workers(expiring)
    expiring.model.script({"match": "expire-me", "times": 1, "reply": {
        "tool_calls": [{"name": "get_weather", "arguments": json.dumps({"city": "Oslo"})}]}})
    asst = sdk.beta.assistants.create(model="m", tools=[WEATHER])  # type: ignore[list-item]
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "expire-me"}])
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=asst.id,
                                                poll_interval_ms=100)
    assert run.status == "requires_action"
    final = wait_for(lambda: (r := _retrieve(sdk, run)).status == "expired" and r, timeout=30)
    assert final.expires_at is None
    step = sdk.beta.threads.runs.steps.list(thread_id=run.thread_id, run_id=run.id).data[0]
    assert step.status == "expired" and step.expired_at is not None
    call_id = run.required_action.submit_tool_outputs.tool_calls[0].id  # type: ignore[union-attr]
    with pytest.raises(openai.BadRequestError, match='status "expired"'):
        sdk.beta.threads.runs.submit_tool_outputs(
            run.id, thread_id=run.thread_id,
            tool_outputs=[{"tool_call_id": call_id, "output": "late"}])


def _blob(st: Stack, file_id: str) -> list[Path]:
    return [p for p in st.api.data_dir.rglob(file_id) if p.is_file()]


def test_expired_files_are_deleted_with_their_links(expiring: Stack, sdk: openai.OpenAI,
                                                    http: httpx.Client) -> None:
    _workers(expiring)
    short = sdk.files.create(file=("brief.txt", b"The kestrel Ommet hunts at noon."),
                             purpose="assistants",
                             expires_after={"anchor": "created_at", "seconds": 3})
    lasting = sdk.files.create(file=("lasting.txt", b"The owl Pellam hunts at night."),
                               purpose="assistants")
    assert short.expires_at == short.created_at + 3 and lasting.expires_at is None
    store = sdk.vector_stores.create(file_ids=[short.id, lasting.id])
    wait_for(lambda: sdk.vector_stores.retrieve(store.id).file_counts.completed == 2,
             timeout=60)
    asst = http.post("/assistants", headers=V1, json={
        "model": "m", "tools": [{"type": "retrieval"}], "file_ids": [short.id, lasting.id]})
    thread = http.post("/threads", headers=V1, json={"messages": [
        {"role": "user", "content": "files", "file_ids": [short.id, lasting.id]}]}).json()
    assert _blob(expiring, short.id)

    def gone() -> bool:
        try:
            sdk.files.retrieve(short.id)
        except openai.NotFoundError:
            return True
        return False

    wait_for(gone, timeout=40)
    assert sdk.files.retrieve(lasting.id).id == lasting.id
    counts = sdk.vector_stores.retrieve(store.id).file_counts
    assert (counts.completed, counts.total) == (1, 1)
    assert [f.id for f in sdk.vector_stores.files.list(vector_store_id=store.id)] == [
        lasting.id]
    assert [h.file_id for h in sdk.vector_stores.search(store.id, query="kestrel owl")] == [
        lasting.id]
    assert http.get(f"/assistants/{asst.json()['id']}", headers=V1).json()["file_ids"] == [
        lasting.id]
    msg = http.get(f"/threads/{thread['id']}/messages", headers=V1).json()["data"][0]
    assert msg["file_ids"] == [lasting.id]
    assert http.get(f"/files/{short.id}/content").status_code == 404
    wait_for(lambda: not _blob(expiring, short.id), timeout=10)
    assert _blob(expiring, lasting.id)
