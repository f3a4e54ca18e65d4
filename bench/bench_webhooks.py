"""Webhooks benchmark: deliveries per second, and what webhooks add to a run's path.

(a) deliveries/s: N delivery rows written in one transaction through the outbox code
    (orchestrator.webhooks.outbox.new_delivery, so N `webhooks.deliver` tasks are sent after
    the commit), delivered by one `orchestrator worker` to a threaded loopback receiver
    (tests/support/receiver.py); the clock runs from the commit until the database shows all
    N succeeded. Each delivery: claim transaction, signed POST, record transaction.
(b) run latency with vs without webhooks: K runs one at a time (POST /threads/runs, instant
    scripted model), the client polling GET …/runs/{id} every 5 ms until `completed`;
    interleaved pairs: the tenant's endpoint disabled (no delivery written), then enabled
    (subscribed to every event). Also, with the endpoint: POST -> the receiver holding the
    signed `thread.run.completed`.

    python -m bench.bench_webhooks [--backend sqlite|postgres] [--deliveries N] [--runs K]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from bench.common import machine_info, percentile, write_results
from tests.support.receiver import Receiver, receiver
from tests.support.redis_server import redis_server
from tests.support.servers import postgres_available, postgres_database, sqlite_database
from tests.support.stack import Stack, stack

SETTINGS = {"ORCH_WEBHOOK_ALLOW_PRIVATE": "true", "ORCH_WEBHOOK_TIMEOUT": "5"}


def ms(values: list[float]) -> dict[str, float]:
    """p50/p95/p99 of latencies given in seconds, in milliseconds."""
    return {f"p{q}_ms": round(percentile(values, q) * 1000, 1) for q in (50, 95, 99)}


def deliveries_per_second(st: Stack, rx: Receiver, endpoint_id: str, n: int) -> dict[str, Any]:
    """(a): write N deliveries in one transaction, time until all succeeded."""
    os.environ.update({k: v for k, v in st.env.items() if k.startswith("ORCH_")})
    from orchestrator.config import get_settings
    from orchestrator.db import get_engine, unit_of_work
    from orchestrator.tenancy import tenant_of
    from orchestrator.webhooks.outbox import event_body, new_delivery

    get_settings.cache_clear()
    get_engine.cache_clear()
    tenant = tenant_of(st.api.keys[0])
    engine = create_engine(st.env["ORCH_DATABASE_URL"])
    body = event_body("evt_bench", "thread.run.completed", {"id": "run_bench", "n": "x" * 800})
    seen = len(rx.received)
    with unit_of_work() as session:
        for i in range(n):
            new_delivery(session, tenant, f"evt_bench{i}", "thread.run.completed", body,
                         endpoint_id=endpoint_id)
        started = time.time()
    deadline = started + 120
    done = 0
    while time.time() < deadline:
        with engine.connect() as conn:
            done = int(conn.execute(text(
                "SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = :e"
                " AND status = 'succeeded' AND event_id LIKE 'evt_bench%'"),
                {"e": endpoint_id}).scalar_one())
        if done >= n:
            break
        time.sleep(0.02)
    wall = time.time() - started
    engine.dispose()
    return {"deliveries": n, "succeeded": done, "received": len(rx.received) - seen,
            "wall_s": round(wall, 2), "deliveries_per_s": round(done / wall, 1)}


def one_run(http: httpx.Client, assistant_id: str, tag: str) -> float:
    """POST /threads/runs, poll until completed; seconds from POST to seeing `completed`."""
    t0 = time.time()
    run = http.post("/threads/runs", json={"assistant_id": assistant_id, "thread": {
        "messages": [{"role": "user", "content": f"bench {tag}"}]}}).json()
    while http.get(f"/threads/{run['thread_id']}/runs/{run['id']}").json()[
            "status"] != "completed":
        time.sleep(0.005)
    return time.time() - t0


def run_latency(http: httpx.Client, assistant_id: str, k: int, rx: Receiver,
                endpoint_id: str) -> dict[str, Any]:
    """(b): K pairs of runs, one without and one with the endpoint enabled, interleaved so
    that the machine's load drifts equally over both."""
    without, with_hook, notified = [], [], []
    for i in range(k):
        http.post(f"/webhook_endpoints/{endpoint_id}", json={"disabled": True})
        without.append(one_run(http, assistant_id, f"off {i}"))
        http.post(f"/webhook_endpoints/{endpoint_id}", json={"disabled": False})
        seen = len(rx.received)
        t0 = time.time()
        with_hook.append(one_run(http, assistant_id, f"on {i}"))
        rx.wait(seen + 1, timeout=30)
        notified.append(rx.received[-1].at - t0)
    diffs = [b - a for a, b in zip(without, with_hook, strict=True)]
    return {"pairs": k, "without_webhooks": ms(without), "with_one_endpoint": ms(with_hook),
            "paired_difference_p50_ms": round(percentile(diffs, 50) * 1000, 1),
            "post_to_webhook_received": ms(notified)}


def main() -> None:
    """Run (a) and (b), print, write bench/results/webhooks-<time>.json."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--deliveries", type=int, default=500)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--webhooks-worker", choices=["shared", "separate"], default="shared",
                        help="deliver on the runs worker (default), or on a worker of its own"
                             " (`orchestrator worker --queues webhooks`, 1 process)")
    args = parser.parse_args()
    if args.backend == "postgres" and not postgres_available():
        raise SystemExit("PostgreSQL is not reachable at 127.0.0.1:5432")
    workdir = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    db = postgres_database() if args.backend == "postgres" else sqlite_database(workdir)
    workers = 0 if args.webhooks_worker == "separate" else 1
    with redis_server(workdir) as rs, db as url, stack(url, workdir, rs.url, workers=workers,
                                                       **SETTINGS) as st, receiver() as rx:
        if args.webhooks_worker == "separate":
            st.start_worker("--queues", "runs,maintenance", "--concurrency", "2")
            st.start_worker("--queues", "webhooks", "--concurrency", "1", name="hooks")
        http = httpx.Client(base_url=st.api.base_url, timeout=60, headers={
            "Authorization": f"Bearer {st.api.keys[0]}", "OpenAI-Beta": "assistants=v2"})
        asst = http.post("/assistants", json={"model": "m"}).json()["id"]
        ep = http.post("/webhook_endpoints", json={"url": rx.url}).json()
        run_latency(http, asst, 3, rx, ep["id"])  # warm-up
        latency = run_latency(http, asst, args.runs, rx, ep["id"])
        rate = deliveries_per_second(st, rx, ep["id"], args.deliveries)
        http.close()
    report = {"backend": args.backend, "worker_concurrency": 2, "deliveries": rate,
              "webhooks_worker": args.webhooks_worker,
              "run_latency": latency, "machine": machine_info(),
              "load_average": os.getloadavg()}
    print(f"(a) {rate['succeeded']}/{rate['deliveries']} deliveries in {rate['wall_s']} s:"
          f" {rate['deliveries_per_s']} deliveries/s")
    print(f"(b) POST->completed without webhooks {latency['without_webhooks']}")
    print(f"    POST->completed with an endpoint  {latency['with_one_endpoint']}")
    print(f"    paired difference p50 {latency['paired_difference_p50_ms']} ms")
    print(f"    POST->webhook received           {latency['post_to_webhook_received']}")
    print(f"    load average {os.getloadavg()}")
    print(f"results: {write_results('webhooks', report)}")


if __name__ == "__main__":
    main()
