"""Throughput with a slow model: how many runs per second one `orchestrator worker` sustains.

(a) N simple runs (each on its own thread, one user message) created through the HTTP API with a
    bounded-concurrency client while the scripted model takes --model-ms per call; runs/s from
    the first POST to the last run's final write (runs.updated_at), the worker's CPU (cores) and
    peak RSS, and how many model calls were in flight at the peak.
(b) a 429 storm: M runs on the same model; --storm-after seconds after the first POST, every
    model call answers 429 (Retry-After: 1) for --storm-seconds; every run must still complete,
    none may fail. Reports the 429s the model sent and the wall time.

    python -m bench.bench_throughput [--backend sqlite|postgres] [--runs N] [--model-ms D]
                                     [--worker-concurrency C] [--pool threads|prefork]
                                     [--processes P]
                                     [--storm-runs M] [--storm-seconds S]
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from bench.bench_runs import (
    REDIS_URL,
    Runs,
    create_runs,
    ensure_redis_db_unused,
    prepare,
    py_spy,
    worker_pids,
)
from bench.common import CpuSample, machine_info, working_processes, write_results
from tests.support.servers import postgres_available, postgres_database, sqlite_database
from tests.support.stack import Stack, stack


def peak_rss_mb(pid: int) -> float:
    """VmHWM (peak resident set) of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


class InFlight:
    """Samples how many runs are in_progress (model calls under way) every 50 ms."""

    def __init__(self, db: Runs, assistant_id: str) -> None:
        self.db, self.asst, self.peak = db, assistant_id, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        from sqlalchemy import text

        while not self._stop.wait(0.05):
            with self.db.engine.connect() as conn:
                n = conn.execute(text("SELECT count(*) FROM runs WHERE assistant_id = :a AND "
                                      "status = 'in_progress'"), {"a": self.asst}).scalar()
            self.peak = max(self.peak, int(n or 0))

    def __enter__(self) -> InFlight:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def model_calls(st: Stack) -> int:
    """Chat-completions requests the scripted model has answered so far."""
    return int(httpx.get(st.model.url + "/_requests", timeout=30).json()["calls"])


def measure(st: Stack, db: Runs, n: int, concurrency: int, tag: str,
            storm: tuple[float, float] | None = None,
            profile: Path | None = None) -> dict[str, Any]:
    """Create n runs, optionally start a 429 storm (after, seconds), wait for all to end."""
    asst, threads = asyncio.run(prepare(st, n, tag, concurrency))
    procs = working_processes(st.workers[0])
    pids = {"api": st.api.process.pid, "model": st.model.process.pid,
            **{f"worker{i}": pid for i, pid in enumerate(procs)}}
    calls0 = model_calls(st)
    timer = None
    if storm:
        after, seconds = storm
        timer = threading.Timer(after, lambda: st.model.script(
            {"match": "", "for_seconds": seconds, "reply": {"status": 429, "retry_after": 1}}))
    with py_spy(worker_pids(st), profile), InFlight(db, asst) as flight:
        cpu0 = CpuSample.take(pids)
        t0 = time.time()
        if timer:
            timer.start()
        posted, _, errors = asyncio.run(create_runs(st, asst, threads, concurrency))
        created = time.time() - t0
        completed = db.wait(asst, len(posted), timeout=900)
        cpu = cpu0.until(CpuSample.take(pids))
        cpu["worker_cores"] = round(sum(v for k, v in cpu.items() if k.startswith("worker")), 3)
    done = db.rows(list(posted))
    end = max(ts for _, ts in done.values())
    statuses: dict[str, int] = {}
    for status, _ in done.values():
        statuses[status] = statuses.get(status, 0) + 1
    wall = end - t0
    return {
        "runs": n, "create_errors": errors, "completed": completed, "statuses": statuses,
        "seconds": round(wall, 2), "runs_per_s": round(completed / wall, 1),
        "creates_took_s": round(created, 2), "peak_in_flight": flight.peak,
        "model_calls": model_calls(st) - calls0, "cpu_cores": cpu,
        "worker_peak_rss_mib": [peak_rss_mb(pid) for pid in procs],
    }


def report(res: dict[str, Any]) -> str:
    """The human-readable summary."""
    a, b = res["throughput"], res["storm"]
    cpu = a["cpu_cores"]
    lines = [
        f"backend={res['backend']}  worker: {res['pool']} --concurrency {res['concurrency']}"
        f" --processes {res['processes']}"
        f"  model {res['model_ms']} ms per call  client concurrency={res['client_concurrency']}",
        f"(a)  {a['completed']}/{a['runs']} runs completed in {a['seconds']} s ="
        f" {a['runs_per_s']} runs/s (creates took {a['creates_took_s']} s;"
        f" peak in flight {a['peak_in_flight']})",
        f"     CPU cores: worker {cpu['worker_cores']}, api {cpu['api_cores']}, model"
        f" {cpu['model_cores']}, machine busy {cpu['machine_busy']:.0%};"
        f" worker peak RSS {a['worker_peak_rss_mib']} MiB",
    ]
    if b:
        lines.append(
            f"(b)  429 storm of {res['storm_seconds']} s from t={res['storm_after']} s:"
            f" {b['statuses']} of {b['runs']} runs in {b['seconds']} s;"
            f" {b['model_calls'] - b['runs']} extra model calls (429s)")
    return "\n".join(lines)


def main() -> None:
    """Parse arguments, run (a) and (b) on one stack, print and save the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"],
                        default="postgres" if postgres_available() else "sqlite")
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--model-ms", type=int, default=1000)
    parser.add_argument("--pool", default="threads", choices=["threads", "prefork"])
    parser.add_argument("--worker-concurrency", type=int, default=200)
    parser.add_argument("--processes", type=int, default=0,
                        help="`orchestrator worker --processes` (0: one per CPU, its default)")
    parser.add_argument("--concurrency", type=int, default=32, help="client HTTP connections")
    parser.add_argument("--storm-runs", type=int, default=1000, help="runs in (b); 0 skips it")
    parser.add_argument("--storm-after", type=float, default=3.0)
    parser.add_argument("--storm-seconds", type=float, default=30.0)
    parser.add_argument("--redis-url", default=REDIS_URL)
    parser.add_argument("--profile", type=Path, default=None,
                        help="py-spy raw stacks of each process during (a) into this folder")
    args = parser.parse_args()
    ensure_redis_db_unused(args.redis_url)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    workdir = Path(tempfile.mkdtemp(prefix="bench-throughput-"))
    db_cm = postgres_database() if args.backend == "postgres" else sqlite_database(workdir)
    print(f"bench-throughput: backend={args.backend}, logs in {workdir}", file=sys.stderr)
    with db_cm as url, stack(url, workdir, args.redis_url, workers=0, beat=True) as st:
        db = Runs(url)
        try:
            st.model.script(delay_ms=args.model_ms)
            st.start_worker("--pool", args.pool, "--concurrency", str(args.worker_concurrency),
                            "--processes", str(args.processes))
            asyncio.run(prepare(st, 1, "warm-up", 1))
            throughput = measure(st, db, args.runs, args.concurrency, "bench-throughput",
                                 profile=args.profile)
            storm = measure(st, db, args.storm_runs, args.concurrency, "bench-storm",
                            (args.storm_after, args.storm_seconds)) if args.storm_runs else {}
        finally:
            db.dispose()
    res = {"backend": args.backend, "pool": args.pool, "concurrency": args.worker_concurrency,
           "processes": args.processes,
           "model_ms": args.model_ms, "client_concurrency": args.concurrency,
           "storm_after": args.storm_after, "storm_seconds": args.storm_seconds,
           "throughput": throughput, "storm": storm, "machine": machine_info(),
           "args": vars(args)}
    print(report(res))
    print(f"wrote {write_results('throughput', res)}")


if __name__ == "__main__":
    main()
