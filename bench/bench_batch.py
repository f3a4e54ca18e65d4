"""Batch benchmark: N questions through one batch with a scripted model of fixed latency.

Measures, with a real API, one threads-pool worker (default concurrency), beat (the feeder) and
the scripted model answering in --model-ms: runs/s from create to `completed`, time to the first
answer, peak in-flight batch runs (queued + in_progress, read from the database every 0.1 s)
against ORCH_BATCH_MAX_IN_FLIGHT, the create-and-poll latency of one interactive run sent
midway, and the peak RSS of the API and worker processes.

    python -m bench.bench_batch [--questions 1000] [--model-ms 1000] [--backend sqlite|postgres]
                                [--max-in-flight 400] [--worker-concurrency 200] [--ratio]
                                [--feeder-worker] [--cli] [--warmup N] [--processes P]
                                [--storm-seconds S [--storm-after A]]

--ratio also measures no-op Celery tasks/s on the same broker with the same pool and
concurrency afterwards (bench/bench_runs.py's measure_noop) and reports runs/s over it; with
--model-ms 0 that is the issue's "batch runs per second as a ratio to no-op tasks".
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import openai
from sqlalchemy import create_engine, text

from bench.bench_runs import measure_noop, stop_workers
from bench.common import CpuSample, machine_info, working_processes, write_results
from tests.support.servers import BIN, postgres_database, sqlite_database
from tests.support.stack import Stack, stack

STATUSES = ("SELECT runs.status, count(*) FROM runs JOIN batch_requests"
            " ON batch_requests.run_id = runs.id WHERE batch_requests.batch_id = :b"
            " GROUP BY runs.status")
IN_FLIGHT = ("queued", "in_progress")


def phases(samples: list[tuple[float, dict[str, int]]], n: int, total_s: float) -> dict[str, float]:
    """Where a batch's time went: until its first run was claimed, until 10 % and 90 % of the
    runs completed, the completion rate between those two, and the end after the last run."""
    def when(pred: Any) -> float:
        return next((t for t, c in samples if pred(c)), total_s)
    claimed = when(lambda c: c.get("in_progress", 0) + c.get("completed", 0) > 0)
    p10 = when(lambda c: c.get("completed", 0) >= n // 10)
    p90 = when(lambda c: c.get("completed", 0) >= n - n // 10)
    last = when(lambda c: c.get("completed", 0) + c.get("failed", 0) >= n)
    return {"first_claim_s": round(claimed, 2), "p10_done_s": round(p10, 2),
            "p90_done_s": round(p90, 2),
            "steady_runs_per_s": round((n - 2 * (n // 10)) / max(p90 - p10, 1e-9), 1),
            "after_last_run_s": round(total_s - last, 2)}


def peak_rss_mb(pid: int) -> float:
    """VmHWM of a process and its children (the worker's threads share one process)."""
    status = Path(f"/proc/{pid}/status").read_text()
    kb = next(int(x.split()[1]) for x in status.splitlines() if x.startswith("VmHWM"))
    return round(kb / 1024, 1)


def run(st: Stack, n: int, storm: tuple[float, float] | None = None) -> dict[str, Any]:
    """One batch of n questions (a 429 storm of (after, seconds) in its middle); the figures."""
    sdk = openai.OpenAI(base_url=st.api.base_url, api_key=st.api.keys[0], max_retries=3)
    asst = sdk.beta.assistants.create(model="scripted", instructions="Answer briefly.")
    lines = [{"custom_id": f"q-{i}", "method": "POST", "url": "/v1/threads/runs",
              "body": {"assistant_id": asst.id, "thread": {"messages": [
                  {"role": "user", "content": f"Question number {i}?"}]}}} for i in range(n)]
    data = "".join(json.dumps(x) + "\n" for x in lines).encode()
    engine = create_engine(st.api.env["ORCH_DATABASE_URL"])
    upload = sdk.files.create(file=("q.jsonl", io.BytesIO(data)), purpose="batch")
    t0 = time.monotonic()
    batch = sdk.batches.create(input_file_id=upload.id, endpoint="/v1/threads/runs",  # type: ignore[arg-type]
                               completion_window="24h")
    created_s = time.monotonic() - t0
    pids = {"api": st.api.process.pid, "model": st.model.process.pid}
    for i, w in enumerate(st.workers):
        procs = working_processes(w)
        pids.update({f"worker{i}": procs[0]} if len(procs) == 1 else {
            f"worker{i}.{j}": pid for j, pid in enumerate(procs)})
    cpu0 = CpuSample.take(pids)
    limited0 = int(httpx.get(st.model.url + "/_requests", timeout=30).json()["limited"])
    if storm:  # every model call answers 429 (Retry-After: 1) for `seconds`
        after, seconds = storm
        threading.Timer(after, lambda: st.model.script(
            {"match": "", "for_seconds": seconds, "reply": {"status": 429, "retry_after": 1}},
        )).start()
    peak, first, stop = [0], [None], threading.Event()
    samples: list[tuple[float, dict[str, int]]] = []  # (since t0, runs by status), every 0.1 s

    def watch() -> None:
        with engine.connect() as conn:
            while not stop.is_set():
                now = {str(k): int(v) for k, v in conn.execute(text(STATUSES), {"b": batch.id})}
                conn.commit()
                peak[0] = max(peak[0], sum(now.get(k, 0) for k in IN_FLIGHT))
                samples.append((time.monotonic() - t0, now))
                time.sleep(0.1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    interactive_s = None
    while True:
        b = sdk.batches.retrieve(batch.id)
        counts = b.request_counts
        if first[0] is None and counts and counts.completed:
            first[0] = time.monotonic() - t0  # type: ignore[assignment]
        if interactive_s is None and counts and counts.completed > n // 3:
            s = time.monotonic()
            r = sdk.beta.threads.create_and_run_poll(
                assistant_id=asst.id, poll_interval_ms=50,
                thread={"messages": [{"role": "user", "content": "interactive"}]})
            assert r.status == "completed"
            interactive_s = time.monotonic() - s
        if b.status in ("completed", "failed", "cancelled", "expired"):
            break
        time.sleep(0.1)
    total_s = time.monotonic() - t0
    cpu1 = CpuSample.take(pids)
    stop.set()
    watcher.join()
    engine.dispose()
    flying = [c for _, c in samples if any(c.get(k, 0) for k in IN_FLIGHT)]
    out = sdk.files.content(b.output_file_id).text.splitlines() if b.output_file_id else []
    return {
        "questions": n, "status": b.status, "completed": b.request_counts.completed,  # type: ignore[union-attr]
        "failed": b.request_counts.failed, "output_lines": len(out),  # type: ignore[union-attr]
        "create_request_s": round(created_s, 3), "total_s": round(total_s, 2),
        "runs_per_s": round(n / total_s, 1), "first_answer_s": round(first[0] or 0, 2),
        "peak_in_flight": peak[0],
        # While the batch has runs in flight: how many wait in the queue, how many are claimed
        # (a claimed run holds a worker thread from its claim to its final write).
        **{f"mean_{status}": round(sum(x.get(status, 0) for x in flying)
                                   / max(len(flying), 1), 1) for status in IN_FLIGHT},
        **phases(samples, n, total_s),
        "interactive_run_s": round(interactive_s or 0, 2),
        "rejected_calls": int(httpx.get(st.model.url + "/_requests", timeout=30)
                              .json()["limited"]) - limited0,
        "cores": cpu0.until(cpu1),  # per process, and the machine's busy fraction
        "cpu_ms_per_run": {k: round((cpu1.procs[k] - v) * 1000 / n, 2)
                           for k, v in cpu0.procs.items()},
        "peak_rss_mb": {k: peak_rss_mb(pid) for k, pid in pids.items()},
    }


def rss_mb(pid: int) -> float:
    """VmRSS (resident now) of a process, in MiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    kb = next(int(x.split()[1]) for x in status.splitlines() if x.startswith("VmRSS"))
    return round(kb / 1024, 1)


def run_cli(st: Stack, n: int, work: Path) -> dict[str, Any]:
    """n questions through `orchestrator batch` (the CLI users run); RSS after 1,000 and at n."""
    sdk = openai.OpenAI(base_url=st.api.base_url, api_key=st.api.keys[0], max_retries=3)
    asst = sdk.beta.assistants.create(model="scripted", instructions="Answer briefly.")
    questions, answers = work / "questions.txt", work / "answers.jsonl"
    questions.write_text("".join(f"Question number {i}?\n" for i in range(n)))
    env = {**st.env, "ORCH_BASE_URL": st.api.base_url, "OPENAI_API_KEY": st.api.keys[0]}
    pids = {"api": st.api.process.pid, "worker": st.workers[0].pid}
    t0 = time.monotonic()
    cli = subprocess.Popen([str(BIN / "orchestrator"), "batch", str(questions), "--assistant",
                            asst.id, "-o", str(answers), "--poll", "0.5"], env=env, cwd=work,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    at: dict[str, dict[str, float]] = {}
    while cli.poll() is None:
        batches = sdk.batches.list(limit=1).data
        counts = batches[0].request_counts if batches else None
        if "1000" not in at and counts and counts.completed >= min(1000, n):
            at["1000"] = {k: rss_mb(p) for k, p in pids.items()}
        time.sleep(0.5)
    total_s = time.monotonic() - t0
    at[str(n)] = {k: rss_mb(p) for k, p in pids.items()}
    rows = [json.loads(line) for line in answers.read_text().splitlines()]
    log = (cli.stdout.read() if cli.stdout else b"").decode(errors="replace")
    return {
        "questions": n, "cli_exit": cli.returncode, "answers": len(rows), "answered": sum(
            1 for r in rows if r.get("status") == "completed" and r.get("answer")),
        "distinct_ids": len({r.get("custom_id") for r in rows}), "total_s": round(total_s, 1),
        "runs_per_s": round(n / total_s, 1), "rss_mb_at": at,
        "peak_rss_mb": {k: peak_rss_mb(p) for k, p in pids.items()},
        "cli_last_lines": log.strip().splitlines()[-3:],
    }


def main() -> None:
    """Parse arguments, start the stack, run, report."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--questions", type=int, default=1000)
    ap.add_argument("--model-ms", type=int, default=1000)
    ap.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--max-in-flight", type=int, default=400)
    ap.add_argument("--worker-concurrency", type=int, default=200)
    ap.add_argument("--ratio", action="store_true")
    ap.add_argument("--storm-seconds", type=float, default=0,
                    help="every model call answers 429 (Retry-After: 1) for this long, from"
                         " --storm-after seconds after the batch is created")
    ap.add_argument("--storm-after", type=float, default=3.0)
    ap.add_argument("--warmup", type=int, default=0,
                    help="run a batch of this many questions first, unmeasured (connections"
                         " of the worker's pools opened, as on a server that has been up)")
    ap.add_argument("--cli", action="store_true",
                    help="submit through `orchestrator batch` and report RSS at 1,000 and at N")
    ap.add_argument("--feeder-worker", action="store_true",
                    help="maintenance (the feeder) in its own worker process")
    ap.add_argument("--processes", type=int, default=0,
                    help="`orchestrator worker --processes` of the run worker (0: one per CPU,"
                         " the default of `orchestrator worker`)")
    ap.add_argument("--run-workers", type=int, default=1,
                    help="with --feeder-worker: run worker processes sharing the concurrency")
    ap.add_argument("--redis-url", default=os.environ.get(
        "ORCH_TEST_REDIS_URL", f"redis://127.0.0.1:6379/{random.randint(1, 13)}"))
    args = ap.parse_args()
    work = Path(f"/tmp/bench-batch-{os.getpid()}")
    work.mkdir(exist_ok=True)
    db = postgres_database() if args.backend == "postgres" else sqlite_database(work)
    with db as url, stack(url, work, args.redis_url, workers=0,
                          ORCH_BATCH_MAX_IN_FLIGHT=str(args.max_in_flight)) as st:
        if args.feeder_worker:
            for _ in range(args.run_workers):
                st.start_worker("--concurrency", str(args.worker_concurrency // args.run_workers),
                                "--queues", "runs,batch", "--processes", str(args.processes))
            st.start_worker("--concurrency", "2", "--queues", "maintenance", name="feeder")
        else:
            st.start_worker("--concurrency", str(args.worker_concurrency),
                            "--processes", str(args.processes))
        st.model.script(delay_ms=args.model_ms)
        time.sleep(3)  # the worker connects
        if args.warmup:
            run(st, args.warmup)
        storm = (args.storm_after, args.storm_seconds) if args.storm_seconds else None
        figures = (run_cli(st, args.questions, work) if args.cli
                   else run(st, args.questions, storm))
        if args.ratio:
            stop_workers(st)
            noop = measure_noop(st, 1000, ["--pool", "threads", "--concurrency",
                                           str(args.worker_concurrency)], 3,
                                task_events=False)  # like `orchestrator worker` by default
            figures["noop_tasks_per_s"] = noop["tasks_per_s"]
            figures["ratio_to_noop"] = round(figures["runs_per_s"] / noop["tasks_per_s"], 3)
    figures.update(backend=args.backend, feeder_worker=args.feeder_worker, model_ms=args.model_ms,
                   processes=args.processes, warmup=args.warmup,
                   storm_seconds=args.storm_seconds,
                   storm_after=args.storm_after,
                   max_in_flight=args.max_in_flight,
                   worker_concurrency=args.worker_concurrency)
    for k, v in figures.items():
        print(f"{k:>22}: {v}")
    print(write_results("batch", {"figures": figures, "machine": machine_info()}))


if __name__ == "__main__":
    main()
