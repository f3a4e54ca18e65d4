"""/metrics: parses as Prometheus text, and its values move as runs and batches complete."""

from __future__ import annotations

from typing import Any

import httpx
import openai
from prometheus_client.parser import text_string_to_metric_families

from tests.batches.conftest import batch_line, upload
from tests.support.stack import Stack
from tests.workers.conftest import wait_for


def scrape(pipeline: Stack) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics (no API key sent), keyed by name and labels."""
    resp = httpx.get(pipeline.api.url + "/metrics", timeout=10)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(resp.text) for s in fam.samples}


def test_metrics_move_as_runs_complete(sdk: openai.OpenAI, assistant: Any,
                                       pipeline: Stack) -> None:
    before = scrape(pipeline)
    for queue in ("runs", "sandbox", "webhooks", "maintenance"):
        assert ("orch_queue_depth", (("queue", queue),)) in before
    completed = ("orch_runs", (("status", "completed"),))
    steps = ("orch_run_step_seconds_count", ())
    for i in range(3):
        run = sdk.beta.threads.create_and_run_poll(
            assistant_id=assistant.id, poll_interval_ms=100,
            thread={"messages": [{"role": "user", "content": f"metrics {i}"}]})
        assert run.status == "completed"
    after = wait_for(lambda: (m := scrape(pipeline)) and m[steps] >= before[steps] + 3 and m,
                     timeout=20)
    assert after[completed] == before[completed] + 3
    assert after[("orch_run_step_seconds_sum", ())] > before[("orch_run_step_seconds_sum", ())]
    assert after[("orch_run_step_seconds_bucket", (("le", "+Inf"),))] == after[steps]

    pipeline.model.script({"match": "metric batch", "reply": {"delay_ms": 300,
                                                               "content": "fine"}})
    batch = sdk.batches.create(
        input_file_id=upload(sdk, [batch_line(f"m-{i}", assistant.id, f"metric batch {i}")
                                   for i in range(30)]),
        endpoint="/v1/threads/runs", completion_window="24h")  # type: ignore[arg-type]
    live = wait_for(lambda: (m := scrape(pipeline))[("orch_batch_requests",
                                                     (("state", "total"),))] >= 30 and m,
                    timeout=20)
    assert live[("orch_batch_requests", (("state", "pending"),))] > 0
    wait_for(lambda: sdk.batches.retrieve(batch.id).status == "completed", timeout=60)
    done = scrape(pipeline)
    assert done[("orch_batches", (("status", "completed"),))] >= 1 + before.get(
        ("orch_batches", (("status", "completed"),)), 0)
    assert done[completed] >= after[completed] + 30
    assert done[("orch_batch_requests", (("state", "pending"),))] == 0
