"""Many clients at once: C clients, each on its own connection, create runs and poll them.

    python -m bench.bench_clients [--backend sqlite|postgres] [--clients 500] [--seconds 30]
                                  [--model-ms 0] [--redis-url URL]

Each client, for `--seconds`, loops: create_and_run (a new thread with one message), then
GET the run every 500 ms (the `openai-poll-after-ms` the API sends) until it is terminal, then
list the thread's messages, as `create_and_run_poll` and a chat client do. The stack is the
default `orchestrator worker` (threads pool, one process per CPU), beat, the API (one uvicorn
process) and the scripted model. Reported: requests/s in all, each kind's latency p50/p95/p99
and max, errors (any non-2xx or transport error), and runs completed per second. The goal of
#19: p99 ≤ 2 s with no errors at 500 clients.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx

from bench.bench_intake import BETA
from bench.bench_runs import TERMINAL
from bench.common import CpuSample, Recorder, Stats, machine_info, write_results
from bench.rawhttp import RawClient
from tests.support.servers import postgres_database, sqlite_database
from tests.support.stack import stack


async def _client(rec: Recorder, asst: str, deadline: float, done: list[float]) -> None:
    """One user: create_and_run, poll until terminal, list the answer; again until time."""
    while time.perf_counter() < deadline:
        resp = await rec.request("create_and_run", "POST", "/v1/threads/runs", json={
            "assistant_id": asst, "thread": {"messages": [{"role": "user", "content": "hi"}]}})
        if resp is None or resp.status_code >= 300:
            await asyncio.sleep(0.5)
            continue
        run = resp.json()
        while run["status"] not in TERMINAL:
            await asyncio.sleep(0.5)
            got = await rec.request("retrieve run", "GET",
                                    f"/v1/threads/{run['thread_id']}/runs/{run['id']}")
            if got is not None and got.status_code < 300:
                run = got.json()
        done.append(time.perf_counter())
        await rec.request("list messages", "GET", f"/v1/threads/{run['thread_id']}/messages")


async def _drive(base_url: str, key: str, asst: str, clients: int,
                 seconds: float) -> tuple[Recorder, list[float], float]:
    async with RawClient(base_url, clients, {"Authorization": f"Bearer {key}", **BETA}) as raw:
        rec = Recorder(raw)
        done: list[float] = []
        start = time.perf_counter()
        await asyncio.gather(*(_client(rec, asst, start + seconds, done)
                               for _ in range(clients)))
        return rec, done, time.perf_counter() - start


def measure(backend: str, clients: int, seconds: float, model_ms: int,
            redis_url: str) -> dict[str, Any]:
    """Run the load on a fresh stack and return its figures."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-clients-"))
    db_cm = postgres_database() if backend == "postgres" else sqlite_database(workdir)
    with db_cm as url, stack(url, workdir, redis_url, workers=0,
                             ORCH_WORKER_PROCESSES="0") as st:
        st.start_worker("--concurrency", "200")
        if model_ms:
            st.model.script({"match": "hi", "reply": {"content": "hello", "delay_ms": model_ms}})
        asst = httpx.post(st.api.base_url + "/assistants", json={"model": "m"}, timeout=30,
                          headers={"Authorization": f"Bearer {st.api.keys[0]}", **BETA}
                          ).raise_for_status().json()["id"]
        # A warm-up through the worker: imports, connections and threads are hot.
        asyncio.run(_drive(st.api.url, st.api.keys[0], asst, 4, 2.0))
        pids = {"api": st.api.process.pid}
        before = CpuSample.take(pids)
        rec, done, wall = asyncio.run(_drive(st.api.url, st.api.keys[0], asst, clients,
                                             seconds))
        cpu = before.until(CpuSample.take(pids))
    stats: dict[str, Stats] = rec.stats()
    every = [x for v in rec.latencies.values() for x in v]
    errors = sum(rec.errors.values())
    return {"backend": backend, "clients": clients, "seconds": round(wall, 2),
            "model_ms": model_ms, "requests_per_s": round((len(every) + errors) / wall, 1),
            "runs_completed_per_s": round(len(done) / wall, 1),
            "all_requests": Stats.of(every, errors), "per_kind": stats,
            "error_samples": rec.samples, "api_cores": cpu.get("api_cores"),
            "machine_busy": cpu.get("machine_busy")}


def main(argv: list[str] | None = None) -> int:
    """Measure and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--model-ms", type=int, default=0)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/7",
                        help="a Redis database of its own (the stack empties it)")
    args = parser.parse_args(argv)
    res = measure(args.backend, args.clients, args.seconds, args.model_ms, args.redis_url)
    a = res["all_requests"]
    print(f"{res['clients']} clients, {res['backend']}, model {res['model_ms']} ms,"
          f" {res['seconds']} s: {res['requests_per_s']} requests/s,"
          f" {res['runs_completed_per_s']} runs completed/s; API {res['api_cores']} cores,"
          f" machine busy {res['machine_busy']:.0%}")
    print(f"  all requests     p50 {a.p50_ms:8.1f}  p95 {a.p95_ms:8.1f}  p99 {a.p99_ms:8.1f}"
          f"  max {a.max_ms:8.1f} ms  errors {a.errors}")
    for kind, s in res["per_kind"].items():
        print(f"  {kind:16} p50 {s.p50_ms:8.1f}  p95 {s.p95_ms:8.1f}  p99 {s.p99_ms:8.1f}"
              f"  max {s.max_ms:8.1f} ms  errors {s.errors}  (n={s.count})")
    for kind, sample in res["error_samples"].items():
        print(f"  first error of {kind}: {sample}")
    verdict = "met" if a.p99_ms <= 2000 and a.errors == 0 else "NOT met"
    print(f"goal p99 <= 2000 ms with no errors: {verdict}")
    saved = {**res, "all_requests": asdict(a),
             "per_kind": {k: asdict(v) for k, v in res["per_kind"].items()}}
    print(f"results: {write_results('clients', {**saved, 'machine': machine_info()})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
