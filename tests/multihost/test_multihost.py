"""Seven hosts on a private network: a batch survives a killed worker host and a Redis partition."""

from __future__ import annotations

import collections
import contextlib
import io
import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
import redis

from tests.multihost.cluster import REDIS_PORT, Cluster, cluster
from tests.support import netns
from tests.support.receiver import Receiver

pytestmark = pytest.mark.slow

QUESTIONS = 500
IN_FLIGHT = 50  # the tenant's cap: about 50 runs/s with the 1 s model, so the batch lasts
PARTITION_SECONDS = 20
IMAGE = "orchestrator-sandbox:0.1"
SETTINGS = {
    "ORCH_BATCH_MAX_IN_FLIGHT": str(IN_FLIGHT), "ORCH_BATCH_FEED_INTERVAL": "0.5",
    "ORCH_WEBHOOK_SWEEP_INTERVAL": "1", "ORCH_WEBHOOK_REDISPATCH_SECONDS": "5",
    "ORCH_WEBHOOK_RETRY_BASE": "1", "ORCH_WEBHOOK_ALLOW_NETWORKS": "198.18.0.0/24",
}


def _ready() -> str | None:
    """Why this machine cannot run the test (a missing external resource), or None."""
    why = netns.available()
    if why:
        return why
    try:
        found = subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True,
                               timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        found = False
    return None if found else f"no Docker engine with the image {IMAGE} (.ci/run builds it)"


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """The whole deployment, every host started, with a 1 s model."""
    why = _ready()
    if why:
        if os.environ.get("ORCH_REQUIRE_DOCKER"):
            pytest.fail(f"the multi-host test cannot run here: {why}")
        pytest.skip(f"external resource missing: {why}")
    workdir = tmp_path_factory.mktemp("multihost")
    with netns.network() as net, cluster(net, workdir, 1000, SETTINGS) as cl:
        yield cl


def _sdk(cl: Cluster, host: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=cl.api_url(host), api_key=cl.keys[0], max_retries=2,
                         timeout=30)


def _load(cl: Cluster) -> tuple[dict[str, int], int]:
    """PostgreSQL's commits and rows written so far, and Redis's commands processed."""
    row = cl.sql("SELECT xact_commit, tup_inserted, tup_updated, tup_deleted"
                 " FROM pg_stat_database WHERE datname = current_database()")[0]
    writes = dict(zip(("commits", "rows_inserted", "rows_updated", "rows_deleted"),
                      (int(v) for v in row), strict=True))  # type: ignore[call-overload]
    info = redis.Redis(host=cl.hosts["data"].addrs[1], port=REDIS_PORT).info("stats")
    return writes, int(info["total_commands_processed"])


class Progress:
    """Polls the database: completed runs of the batch over time."""

    def __init__(self, cl: Cluster, batch_id: str) -> None:
        self.cl, self.batch_id = cl, batch_id
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def completed(self) -> int:
        rows = self.cl.sql("SELECT count(*) FROM runs r JOIN batch_requests b ON b.run_id = r.id"
                           " WHERE b.batch_id = %(b)s AND r.status = 'completed'",
                           b=self.batch_id)
        return int(rows[0][0])  # type: ignore[call-overload]

    def _poll(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(Exception):  # a sample missed is only a sample missed
                self.samples.append((time.monotonic(), self.completed()))
            self._stop.wait(0.2)

    def wait_for(self, count: int, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while not self.samples or self.samples[-1][1] < count:
            assert time.monotonic() < deadline, f"stuck at {self.samples[-1:]}, want {count}"
            time.sleep(0.05)
        return self.samples[-1][0]

    def first_gain_after(self, t: float) -> float | None:
        base = next((n for at, n in reversed(self.samples) if at <= t), 0)
        return next((at for at, n in self.samples if at > t and n > base), None)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def test_a_batch_across_hosts_survives_a_dead_worker_host_and_a_redis_partition(
        deployment: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    cl = deployment
    api1, api2 = _sdk(cl, "api1"), _sdk(cl, "api2")
    receiver = Receiver(port=8099, host=netns.CLIENT_ADDR)
    receiver.start()
    hook = httpx.post(cl.api_url("api1") + "/webhook_endpoints", timeout=10,
                      headers={"Authorization": f"Bearer {cl.keys[0]}"},
                      json={"url": receiver.url,
                            "events": ["thread.run.completed", "batch.completed"]})
    assert hook.status_code == 200, hook.text
    assistant = api2.beta.assistants.create(model="scripted-model", instructions="Answer.")
    lines = [{"custom_id": f"q{i}", "method": "POST", "url": "/v1/threads/runs",
              "body": {"assistant_id": assistant.id,
                       "thread": {"messages": [{"role": "user", "content": f"question {i}"}]}}}
             for i in range(QUESTIONS)]
    data = "".join(json.dumps(line) + "\n" for line in lines).encode()
    upload = api1.files.create(file=("questions.jsonl", io.BytesIO(data)), purpose="batch")
    writes_before, commands_before = _load(cl)
    started = time.monotonic()
    batch = api2.batches.create(input_file_id=upload.id, endpoint="/v1/threads/runs",
                                completion_window="24h")
    progress = Progress(cl, batch.id)
    w1, w2, data_host = cl.hosts["w1"], cl.hosts["w2"], cl.hosts["data"]
    redis_addr = data_host.addrs[1]
    try:
        # Fault 1: a third of the way, every process of worker host 1 dies and its link goes.
        progress.wait_for(QUESTIONS // 3, timeout=120)
        held = [r[0] for r in cl.sql("SELECT id FROM runs WHERE status = 'in_progress'"
                                     " AND lease_owner LIKE %(host)s", host="w1:%")]
        killed_at = time.monotonic()
        killed = w1.kill_all()
        w1.link_down()
        assert killed >= 3 and held, (killed, held)
        deadline = time.monotonic() + 60
        while cl.sql("SELECT count(*) FROM runs WHERE id = ANY(%(ids)s)"
                     " AND status <> 'completed'", ids=held)[0][0]:
            assert time.monotonic() < deadline, "runs the dead host held were not taken over"
            time.sleep(0.1)
        held_recovered = time.monotonic() - killed_at
        # Fault 2: worker host 2 loses Redis (packets dropped both ways) for 20 s.
        before = progress.samples[-1][1]
        assert before < QUESTIONS - IN_FLIGHT, "the batch ended before the partition"
        w2.partition_from(redis_addr)
        time.sleep(PARTITION_SECONDS)
        w2.heal_from(redis_addr)
        healed_at = time.monotonic()
        deadline = time.monotonic() + 180
        while (batch := (api1 if int(time.monotonic()) % 2 else api2).batches.retrieve(
                batch.id)).status not in ("completed", "failed", "expired", "cancelled"):
            assert time.monotonic() < deadline, (batch.request_counts, cl.logs())
            time.sleep(0.5)
        finished = time.monotonic() - started
        resumed = progress.first_gain_after(healed_at)
        time.sleep(1.5)  # PostgreSQL publishes its counters about once a second
        writes_after, commands_after = _load(cl)
    finally:
        progress.stop()
    assert batch.status == "completed", (batch, cl.logs())
    assert batch.request_counts is not None
    assert (batch.request_counts.completed, batch.request_counts.failed) == (QUESTIONS, 0)

    # Exactly once: one assistant message per question, and its answer in the output file.
    answers = cl.sql("SELECT r.thread_id, count(m.id) FROM batch_requests b"
                     " JOIN runs r ON r.id = b.run_id LEFT JOIN messages m"
                     " ON m.thread_id = r.thread_id AND m.role = 'assistant'"
                     " WHERE b.batch_id = %(b)s GROUP BY r.thread_id", b=batch.id)
    assert len(answers) == QUESTIONS and {n for _, n in answers} == {1}, answers[:5]
    assert batch.output_file_id
    output = [json.loads(x) for x in api1.files.content(batch.output_file_id).text.splitlines()]
    by_id = {o["custom_id"]: o for o in output}
    assert len(output) == QUESTIONS and set(by_id) == {f"q{i}" for i in range(QUESTIONS)}

    # Webhooks: each run's completion delivered, as one event. Delivery is at least once: a
    # worker killed between the receiver's 2xx and its own record of it leaves the delivery
    # to be sent again after its lease, under the same webhook-id (Standard Webhooks' key for
    # receivers to drop repeats). Any repeat must be such a delivery: the database shows an
    # attempt claimed whose outcome was never written.
    deadline = time.monotonic() + 60
    while True:
        ok = [r for r in list(receiver.received) if r.answered < 300]
        got = [json.loads(r.body) for r in ok]
        runs_done = {e["data"]["id"] for e in got if e["type"] == "thread.run.completed"}
        if len(runs_done) >= QUESTIONS or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert len(runs_done) == QUESTIONS, len(runs_done)
    events: dict[tuple[str, str], set[str]] = collections.defaultdict(set)
    for r, e in zip(ok, got, strict=True):
        assert r.headers.get("webhook-id") == e["id"], r.headers
        events[(e["type"], e["data"]["id"])].add(e["id"])
    assert max(len(v) for v in events.values()) == 1, [
        (k, v) for k, v in events.items() if len(v) > 1][:3]
    sent = collections.Counter(e["id"] for e in got)
    repeated = [event_id for event_id, n in sent.items() if n > 1]
    if repeated:
        unrecorded = {str(event_id) for (event_id,) in cl.sql(
            "SELECT d.event_id FROM webhook_deliveries d WHERE d.event_id = ANY(%(ids)s)"
            " AND d.status = 'succeeded' AND d.attempts > (SELECT count(*)"
            " FROM webhook_attempts a WHERE a.delivery_id = d.id)", ids=repeated)}
        assert set(repeated) == unrecorded, (repeated, unrecorded)

    # A file uploaded through one API host is read by code on the sandbox host, and what the
    # code wrote is downloaded through the other API host.
    table = api1.files.create(file=("scores.csv", b"name,score\nada,7\nbob,5\n"),
                              purpose="assistants")
    code = ("import csv\nrows = list(csv.DictReader(open('/mnt/data/scores.csv')))\n"
            "total = sum(int(r['score']) for r in rows)\n"
            "open('/mnt/data/total.txt', 'w').write(f'total={total}')\nprint(total)")
    marker = "multihost-code"
    httpx.post(cl.model_url() + "/_script", timeout=10, json={"rules": [
        {"match": marker, "on": "user", "times": 1, "delay_ms": 0,
         "reply": {"tool_calls": [{"name": "code_interpreter",
                                   "arguments": json.dumps({"code": code})}]}},
        {"match": marker, "on": "tool", "times": 1, "delay_ms": 0,
         "reply": {"content": "Total: {tool} [file](sandbox:/mnt/data/total.txt)"}}]}
    ).raise_for_status()
    coder = api1.beta.assistants.create(model="scripted-model",
                                        tools=[{"type": "code_interpreter"}])
    run = api2.beta.threads.create_and_run_poll(
        assistant_id=coder.id, thread={"messages": [{
            "role": "user", "content": marker,
            "attachments": [{"file_id": table.id, "tools": [{"type": "code_interpreter"}]}]}]},
        poll_interval_ms=200, timeout=120)
    assert run.status == "completed", (run.last_error, cl.logs())
    reply = api1.beta.threads.messages.list(thread_id=run.thread_id, run_id=run.id).data[0]
    text = reply.content[0].text  # type: ignore[union-attr]
    assert "12" in text.value, text.value
    written = {a.file_path.file_id for a in text.annotations if a.type == "file_path"}
    assert len(written) == 1, text
    assert api2.files.content(written.pop()).read() == b"total=12"
    # No host kept a file's contents: they are all in the bucket on the data host.
    kept = [p for p in cl.workdir.glob("*/data/blobs/**/*") if p.is_file()]
    assert kept == [], kept[:5]

    report = {"finished_s": round(finished, 1), "runs": QUESTIONS, "lost": 0, "duplicates": 0,
              "webhooks_sent_again_after_the_kill": len(repeated),
              "killed_processes": killed, "runs_held_by_dead_host": len(held),
              "held_runs_recovered_s": round(held_recovered, 1),
              "completions_resumed_after_heal_s": (round(resumed - healed_at, 1)
                                                   if resumed else None),
              "per_run": {k: round((writes_after[k] - writes_before[k]) / QUESTIONS, 1)
                          for k in writes_before},
              "redis_commands_per_run": round((commands_after - commands_before) / QUESTIONS, 1)}
    with capsys.disabled():  # shown even under -q: the figures of docs/deployment.md
        print("\nmultihost:", json.dumps(report))
    Path(cl.workdir / "report.json").write_text(json.dumps(report))
