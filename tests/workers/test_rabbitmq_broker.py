"""RabbitMQ as the broker, seen from the API: a run waits in a durable quorum queue, /metrics
counts it there, /ready checks the broker (the fault cases on RabbitMQ, and /ready while the
broker is down, are in test_faults.py)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.rabbitmq import rabbitmq_available, rabbitmq_vhost
from tests.support.servers import ApiServer, api_server, sqlite_database

pytestmark = pytest.mark.skipif(not rabbitmq_available(), reason=(
    "no RabbitMQ at 127.0.0.1:5672 with rabbitmqctl (external resource missing)"))


@pytest.fixture(scope="module")
def vhost() -> Iterator[str]:
    """A vhost of this module's own on the machine's RabbitMQ (its AMQP URL)."""
    with rabbitmq_vhost() as url:
        yield url


@pytest.fixture(scope="module")
def api(vhost: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """The API with RabbitMQ as its broker and no worker: what it publishes stays queued."""
    workdir = tmp_path_factory.mktemp("api-rabbitmq")
    with sqlite_database(workdir) as url, api_server(url, workdir,
                                                     ORCH_BROKER_URL=vhost) as server:
        yield server


def _samples(api: ApiServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    resp = httpx.get(api.url + "/metrics", timeout=10)
    assert resp.status_code == 200
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(resp.text) for s in fam.samples}


def test_a_run_waits_in_a_quorum_queue_counted_by_metrics(api: ApiServer, vhost: str) -> None:
    ready = httpx.get(api.url + "/ready", timeout=10)
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "database": "ok", "redis": "ok", "broker": "ok"}

    sdk = openai.OpenAI(base_url=api.base_url, api_key=api.keys[0], max_retries=0)
    asst = sdk.beta.assistants.create(model="m")
    run = sdk.beta.threads.create_and_run(assistant_id=asst.id, thread={
        "messages": [{"role": "user", "content": "wait for a worker"}]})
    assert run.status == "queued"

    metrics = _samples(api)
    assert metrics[("orch_broker_up", ())] == 1
    assert metrics[("orch_queue_depth", (("queue", "runs"),))] == 1
    assert metrics[("orch_queue_depth", (("queue", "webhooks"),))] == 0  # not declared yet

    listed = subprocess.run(
        ["rabbitmqctl", "-q", "list_queues", "-p", vhost.rsplit("/", 1)[1], "--no-table-headers",
         "name", "type", "durable"], capture_output=True, text=True, check=True,
        timeout=60).stdout.split("\n")  # (its message counts lag: stats come every 5 s)
    assert "runs\tquorum\ttrue" in listed, listed
