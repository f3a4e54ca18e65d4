"""Responses on the run engine, against Assistants runs measured in the same run on one stack.

(a) N background responses (`POST /v1/responses`, background=true) created through the HTTP API
    with a bounded-concurrency client while the scripted model takes --model-ms per call:
    responses/s from the first POST to the last final write (runs.updated_at), and CPU ms per
    response of the API and the worker; then N Assistants runs the same way (the baseline).
(b) with an instant model, plain responses created one after another (the POST answers when
    the response is done): p50 of the POST's answer time and of create->completed, against
    Assistants runs created one after another and polled to completion.

    python -m bench.bench_responses [--backend sqlite|postgres] [--n N] [--model-ms D]
                                    [--single N] [--rounds R] [--concurrency C]
                                    [--worker-concurrency W] [--processes P]
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.bench_runs import (
    REDIS_URL,
    TERMINAL,
    Runs,
    client,
    create_runs,
    ensure_redis_db_unused,
    ms,
)
from bench.bench_runs import prepare as prepare_runs
from bench.common import CpuSample, machine_info, working_processes, write_results
from tests.support.servers import postgres_available, postgres_database, sqlite_database
from tests.support.stack import Stack, stack


class Rows(Runs):
    """Final states of runs (responses are runs) by id, read from the database."""

    def wait_ids(self, ids: list[str], timeout: float,
                 every: float = 0.05) -> dict[str, tuple[str, float]]:
        """Poll until every id is terminal (or the timeout passes); their rows."""
        deadline = time.time() + timeout
        while True:
            rows = self.rows(ids)
            if all(s in TERMINAL for s, _ in rows.values()) or time.time() > deadline:
                return rows
            time.sleep(every)


async def create_responses(st: Stack, n: int, tag: str, concurrency: int,
                           **fields: Any) -> tuple[dict[str, float], list[float], int]:
    """POST n responses; id -> client time before its POST, the POSTs' answer times, errors."""
    posted: dict[str, float] = {}
    answered: list[float] = []
    errors = 0
    async with client(st, concurrency) as c:
        sem = asyncio.Semaphore(concurrency)

        async def one(i: int) -> None:
            nonlocal errors
            async with sem:
                t = time.time()
                r = await c.post("/responses", json={
                    "model": "bench-model", "input": f"{tag} question {i}", **fields})
                if r.status_code != 200:
                    errors += 1
                    return
                answered.append(time.time() - t)
                posted[r.json()["id"]] = t

        await asyncio.gather(*(one(i) for i in range(n)))
    return posted, answered, errors


def _pids(st: Stack) -> dict[str, int]:
    return {"api": st.api.process.pid,
            **{f"worker{i}": p for i, p in enumerate(working_processes(st.workers[0]))}}


def _cpu_ms_per(before: CpuSample, after: CpuSample, n: int) -> dict[str, float]:
    """CPU ms per item of the API and of the worker processes over the interval."""
    spent = {k: after.procs[k] - v for k, v in before.procs.items()}
    worker = sum(v for k, v in spent.items() if k.startswith("worker"))
    return {"api_ms": round(spent["api"] / n * 1000, 2), "worker_ms": round(worker / n * 1000, 2)}


def _rate(rows: dict[str, tuple[str, float]], posted: dict[str, float], t0: float,
          before: CpuSample, after: CpuSample) -> dict[str, Any]:
    completed = [i for i, (s, _) in rows.items() if s == "completed"]
    wall = max(ts for _, ts in rows.values()) - t0
    return {"n": len(posted), "completed": len(completed), "seconds": round(wall, 2),
            "per_s": round(len(completed) / wall, 1) if wall else 0.0,
            "cpu_per_item": _cpu_ms_per(before, after, max(len(posted), 1)),
            "machine_busy": before.until(after)["machine_busy"]}


def measure_background(st: Stack, db: Rows, n: int, concurrency: int) -> dict[str, Any]:
    """(a) for responses."""
    cpu0 = CpuSample.take(_pids(st))
    t0 = time.time()
    posted, _, errors = asyncio.run(create_responses(st, n, "bench-bg", concurrency,
                                                     background=True))
    rows = db.wait_ids(list(posted), timeout=900)
    return {**_rate(rows, posted, t0, cpu0, CpuSample.take(_pids(st))), "create_errors": errors}


def measure_runs(st: Stack, db: Rows, n: int, concurrency: int) -> dict[str, Any]:
    """(a) for Assistants runs: the baseline."""
    asst, threads = asyncio.run(prepare_runs(st, n, "bench-runs", concurrency))
    cpu0 = CpuSample.take(_pids(st))
    t0 = time.time()
    posted, _, errors = asyncio.run(create_runs(st, asst, threads, concurrency))
    rows = db.wait_ids(list(posted), timeout=900)
    return {**_rate(rows, posted, t0, cpu0, CpuSample.take(_pids(st))), "create_errors": errors}


def measure_single_responses(st: Stack, db: Rows, n: int) -> dict[str, Any]:
    """(b) for plain responses: one POST at a time, each answered when the response is done."""
    posted, answered, errors = asyncio.run(create_responses(st, n, "bench-one", 1))
    rows = db.rows(list(posted))
    lat = [rows[i][1] - t for i, t in posted.items() if rows[i][0] == "completed"]
    return {"n": n, "errors": errors, "post_answered": ms(answered),
            "create_to_completed": ms(lat)}


def measure_single_runs(st: Stack, db: Rows, n: int) -> dict[str, Any]:
    """(b) for Assistants runs: created one after another, each awaited in the database."""
    asst, threads = asyncio.run(prepare_runs(st, n, "bench-one-run", 4))
    posted: dict[str, float] = {}

    async def one_by_one() -> None:
        async with client(st, 1) as c:
            for i, thread_id in enumerate(threads):
                t = time.time()
                r = await c.post(f"/threads/{thread_id}/runs", json={"assistant_id": asst})
                r.raise_for_status()
                posted[r.json()["id"]] = t
                db.wait(asst, i + 1, timeout=60, every=0.005)

    asyncio.run(one_by_one())
    rows = db.rows(list(posted))
    lat = [rows[i][1] - t for i, t in posted.items() if rows[i][0] == "completed"]
    return {"n": n, "create_to_completed": ms(lat)}


def report(res: dict[str, Any]) -> str:
    """The human-readable summary (medians over the rounds, then every round)."""
    lines = [f"backend={res['backend']}  model {res['model_ms']} ms per call in (a),"
             f" instant in (b); client concurrency {res['concurrency']}"]
    for i, r in enumerate(res["rounds"]):
        bg, rn = r["background"], r["runs"]
        lines.append(
            f"round {i + 1}: (a) responses {bg['completed']}/{bg['n']} in {bg['seconds']} s ="
            f" {bg['per_s']}/s (API {bg['cpu_per_item']['api_ms']} ms, worker"
            f" {bg['cpu_per_item']['worker_ms']} ms CPU each); runs {rn['completed']}/{rn['n']}"
            f" = {rn['per_s']}/s (API {rn['cpu_per_item']['api_ms']} ms, worker"
            f" {rn['cpu_per_item']['worker_ms']} ms); ratio {r['ratio']}")
        one, one_run = r["single_responses"], r["single_runs"]
        lines.append(
            f"         (b) plain response p50 POST answered {one['post_answered']['p50_ms']} ms,"
            f" create->completed {one['create_to_completed']['p50_ms']} ms; run"
            f" create->completed {one_run['create_to_completed']['p50_ms']} ms")
    med = res["median"]
    lines.append(f"median: responses/s {med['responses_per_s']}, runs/s {med['runs_per_s']},"
                 f" ratio {med['ratio']}; plain response p50 {med['response_p50_ms']} ms"
                 f" (run p50 {med['run_p50_ms']} ms)")
    return "\n".join(lines)


def main() -> None:
    """Parse arguments, measure (a) and (b) in alternating rounds, print and save."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"],
                        default="postgres" if postgres_available() else "sqlite")
    parser.add_argument("--n", type=int, default=1000, help="responses (and runs) in (a)")
    parser.add_argument("--model-ms", type=int, default=1000)
    parser.add_argument("--single", type=int, default=200, help="one-at-a-time items in (b)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=32, help="client HTTP connections")
    parser.add_argument("--worker-concurrency", type=int, default=200)
    parser.add_argument("--processes", type=int, default=0,
                        help="`orchestrator worker --processes` (0: one per CPU, its default)")
    parser.add_argument("--redis-url", default=REDIS_URL)
    args = parser.parse_args()
    ensure_redis_db_unused(args.redis_url)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    workdir = Path(tempfile.mkdtemp(prefix="bench-responses-"))
    db_cm = postgres_database() if args.backend == "postgres" else sqlite_database(workdir)
    print(f"bench-responses: backend={args.backend}, logs in {workdir}", file=sys.stderr)
    rounds: list[dict[str, Any]] = []
    with db_cm as url, stack(url, workdir, args.redis_url, workers=0, beat=True) as st:
        db = Rows(url)
        try:
            # As `orchestrator worker` starts by default (bench_throughput's worker too).
            st.start_worker("--pool", "threads", "--concurrency", str(args.worker_concurrency),
                            "--processes", str(args.processes))
            asyncio.run(create_responses(st, 3, "warm-up", 1))
            for _ in range(args.rounds):
                st.model.script(delay_ms=args.model_ms)
                bg = measure_background(st, db, args.n, args.concurrency)
                rn = measure_runs(st, db, args.n, args.concurrency)
                st.model.script(delay_ms=0)
                rounds.append({
                    "background": bg, "runs": rn,
                    "ratio": round(bg["per_s"] / rn["per_s"], 3) if rn["per_s"] else 0.0,
                    "single_responses": measure_single_responses(st, db, args.single),
                    "single_runs": measure_single_runs(st, db, args.single)})
        finally:
            db.dispose()
    med = {
        "responses_per_s": statistics.median(r["background"]["per_s"] for r in rounds),
        "runs_per_s": statistics.median(r["runs"]["per_s"] for r in rounds),
        "ratio": statistics.median(r["ratio"] for r in rounds),
        "response_p50_ms": statistics.median(
            r["single_responses"]["create_to_completed"]["p50_ms"] for r in rounds),
        "run_p50_ms": statistics.median(
            r["single_runs"]["create_to_completed"]["p50_ms"] for r in rounds),
    }
    res: dict[str, Any] = {
        "backend": args.backend, "model_ms": args.model_ms, "concurrency": args.concurrency,
        "rounds": rounds, "median": med, "machine": machine_info(), "args": vars(args)}
    print(report(res))
    print(f"wrote {write_results('responses', res)}")


if __name__ == "__main__":
    main()
