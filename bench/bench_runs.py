"""Runs benchmark: how close the run pipeline gets to bare Celery, and how it recovers.

(a)  simple runs completed per second end to end, scripted model answering instantly: N runs
     (one per thread, one user message each, one assistant) created through the HTTP API with a
     bounded-concurrency client; the clock runs from the first POST .../runs until the last run's
     final compare-and-set (runs.updated_at, read from the database). Per run: create->completed
     latency (client time just before its POST -> runs.updated_at), p50/p95/p99; with no model
     time, that latency is all orchestration overhead (queueing included).
(a') the same latency for runs created one at a time (no queueing: the floor of the overhead).
(b)  no-op Celery tasks per second: bench.noop_app (our app's settings, a task that INCRs a Redis
     counter) in its own `celery worker` process with the same pool, concurrency and broker.
(c)  recovery: 20 runs in flight on a model that takes 1 s, SIGKILL of the worker's process group,
     a new worker; seconds from its start until all 20 completed, one assistant message each.

Celery task events (both workers run with them on: `--task-events` / -E, about 1 ms of worker
CPU per task, off by default in production) split (a) into queue wait, wait for a free pool child
and task run time. Prints a report and writes bench/results/runs-<time>.json.

    python -m bench.bench_runs [--backend sqlite|postgres] [--runs N] [--concurrency C]
                               [--pool P] [--worker-concurrency W] [--noop-tasks M]
                               [--noop-rounds R]
                               [--latency-runs K] [--redis-url URL] [--profile DIR]

--profile DIR records py-spy raw stacks of the API, model and worker processes during (a) (the
sampling costs CPU: figures of such a run are not comparable).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import redis
from celery import Celery
from sqlalchemy import bindparam, create_engine, text
from sqlalchemy.engine import Engine

from bench.common import CpuSample, machine_info, percentile, write_results
from tests.support.servers import (
    BIN,
    ROOT,
    postgres_available,
    postgres_database,
    sqlite_database,
)
from tests.support.stack import FAST_SETTINGS, Stack, stack

REDIS_URL = "redis://127.0.0.1:6379/12"
TERMINAL = ("completed", "failed", "incomplete", "cancelled", "expired")
RUN_ID = re.compile(r"run_[A-Za-z0-9]+")
NOOP_QUEUE = "bench.noop"  # bench.noop_app.QUEUE (not imported: that module builds our app)


def headers(st: Stack) -> dict[str, str]:
    """Bearer key of the stack's first tenant plus the v2 beta header."""
    return {"Authorization": f"Bearer {st.api.keys[0]}", "OpenAI-Beta": "assistants=v2"}


def client(st: Stack, concurrency: int) -> httpx.AsyncClient:
    """Keep-alive client with exactly `concurrency` connections."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(base_url=st.api.base_url, headers=headers(st), limits=limits,
                             timeout=120)


def ms(values: list[float]) -> dict[str, float]:
    """p50/p95/p99/max of latencies given in seconds, in milliseconds."""
    out = {f"p{q}_ms": round(percentile(values, q) * 1000, 1) for q in (50, 95, 99)}
    out["max_ms"] = round(max(values) * 1000, 1) if values else 0.0
    return out


# --- the database side ------------------------------------------------------------------------


class Runs:
    """Read-only queries on the runs table (the source of truth the benchmark measures)."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = create_engine(url)

    def count(self, assistant_id: str) -> tuple[int, int]:
        """(completed, terminal) runs of the assistant."""
        with self.engine.connect() as conn:
            row = conn.execute(text(
                "SELECT sum(CASE WHEN status = 'completed' THEN 1 ELSE 0 END),"
                " sum(CASE WHEN status IN :terminal THEN 1 ELSE 0 END)"
                " FROM runs WHERE assistant_id = :a").bindparams(
                    bindparam("terminal", expanding=True)),
                {"a": assistant_id, "terminal": list(TERMINAL)}).one()
        return int(row[0] or 0), int(row[1] or 0)

    def rows(self, ids: list[str]) -> dict[str, tuple[str, float]]:
        """id -> (status, updated_at)."""
        stmt = text("SELECT id, status, updated_at FROM runs WHERE id IN :ids").bindparams(
            bindparam("ids", expanding=True))
        with self.engine.connect() as conn:
            return {r[0]: (str(r[1]), float(r[2])) for r in conn.execute(stmt, {"ids": ids})}

    def wait(self, assistant_id: str, n: int, timeout: float, every: float = 0.02) -> int:
        """Poll until `n` runs of the assistant are terminal; the number completed."""
        deadline = time.time() + timeout
        while True:
            completed, terminal = self.count(assistant_id)
            if terminal >= n or time.time() > deadline:
                return completed
            time.sleep(every)

    def dispose(self) -> None:
        """Close the pool."""
        self.engine.dispose()


# --- Celery task events (received / started / succeeded) ---------------------------------------


class TaskEvents:
    """Collects the worker's task events from Redis, keyed by the run id in the task's args."""

    def __init__(self, broker_url: str) -> None:
        self.app = Celery("bench-events", broker=broker_url)
        self.by_task: dict[str, dict[str, Any]] = {}
        self.recv: Any = None
        self.thread: threading.Thread | None = None

    def _on(self, event: dict[str, Any]) -> None:
        kind = str(event.get("type", ""))
        if not kind.startswith("task-"):
            return
        rec = self.by_task.setdefault(str(event["uuid"]), {})
        rec[kind[5:]] = float(event["timestamp"])
        if kind == "task-received":
            rec["name"] = event.get("name")
            found = RUN_ID.search(str(event.get("args", "")))
            rec["run"] = found.group(0) if found else None
        if kind == "task-succeeded":
            rec["runtime"] = float(event.get("runtime") or 0.0)

    @contextlib.contextmanager
    def capture(self) -> Iterator[TaskEvents]:
        """Listen in a background thread while the block runs."""
        with self.app.connection() as conn:
            self.recv = self.app.events.Receiver(conn, handlers={"*": self._on})
            self.thread = threading.Thread(target=self.recv.capture, daemon=True,
                                           kwargs={"limit": None, "timeout": None,
                                                   "wakeup": False})
            self.thread.start()
            time.sleep(0.5)  # subscribed before the first event we care about
            try:
                yield self
            finally:
                time.sleep(0.5)  # let the last events arrive
                self.recv.should_stop = True
                self.thread.join(timeout=5)

    def per_run(self) -> dict[str, list[dict[str, Any]]]:
        """runs.advance deliveries per run id, oldest first."""
        out: dict[str, list[dict[str, Any]]] = {}
        for rec in self.by_task.values():
            if rec.get("name") == "runs.advance" and rec.get("run"):
                out.setdefault(rec["run"], []).append(rec)
        for recs in out.values():
            recs.sort(key=lambda r: r.get("received", 0.0))
        return out


def breakdown(posted: dict[str, float], done: dict[str, tuple[str, float]],
              events: TaskEvents, wall: float, workers: int) -> dict[str, Any]:
    """Where create->completed goes: queue, wait for a pool slot, the task itself."""
    per_run = events.per_run()
    queue, child, task, after = [], [], [], []
    runtimes: list[float] = []
    for run_id, t_post in posted.items():
        recs = [r for r in per_run.get(run_id, []) if "received" in r and "started" in r]
        runtimes += [r["runtime"] for r in per_run.get(run_id, []) if "runtime" in r]
        if not recs or run_id not in done:
            continue
        first, last = recs[0], recs[-1]
        queue.append(first["received"] - t_post)
        child.append(last["started"] - first["received"])
        task.append(done[run_id][1] - last["started"])
        if "succeeded" in last:
            after.append(last["succeeded"] - done[run_id][1])
    deliveries = sum(len(v) for v in per_run.values() if v)
    return {
        "runs_with_events": len(queue),
        "advance_deliveries": deliveries,
        "post_to_worker_received": ms(queue),
        "received_to_child_started": ms(child),
        "child_started_to_completed": ms(task),
        "completed_to_task_returned": ms(after),
        "task_runtime": {**ms(runtimes), "mean_ms": round(
            sum(runtimes) / len(runtimes) * 1000, 2) if runtimes else 0.0},
        # Share of the pool's capacity spent inside runs.advance during the measured window.
        "pool_busy": round(sum(runtimes) / (workers * wall), 3) if wall else 0.0,
    }


# --- the HTTP side ----------------------------------------------------------------------------


async def prepare(st: Stack, n: int, tag: str, concurrency: int) -> tuple[str, list[str]]:
    """One assistant and `n` threads holding one user message each."""
    async with client(st, concurrency) as c:
        resp = await c.post("/assistants", json={"model": "bench-model",
                                                 "instructions": "Answer briefly."})
        resp.raise_for_status()
        asst = str(resp.json()["id"])
        sem = asyncio.Semaphore(concurrency)

        async def thread(i: int) -> str:
            async with sem:
                r = await c.post("/threads", json={
                    "messages": [{"role": "user", "content": f"{tag} question {i}"}]})
                r.raise_for_status()
                return str(r.json()["id"])

        return asst, list(await asyncio.gather(*(thread(i) for i in range(n))))


async def create_runs(st: Stack, asst: str, threads: list[str],
                      concurrency: int) -> tuple[dict[str, float], dict[str, str], int]:
    """POST a run on every thread; run id -> client time just before its POST, -> thread id."""
    posted: dict[str, float] = {}
    thread_of: dict[str, str] = {}
    errors = 0
    async with client(st, concurrency) as c:
        sem = asyncio.Semaphore(concurrency)

        async def one(thread_id: str) -> None:
            nonlocal errors
            async with sem:
                t = time.time()
                r = await c.post(f"/threads/{thread_id}/runs", json={"assistant_id": asst})
                if r.status_code != 200:
                    errors += 1
                    return
                posted[r.json()["id"]] = t
                thread_of[r.json()["id"]] = thread_id

        await asyncio.gather(*(one(t) for t in threads))
    return posted, thread_of, errors


# --- (a) and (a') ------------------------------------------------------------------------------


def with_others(cpu: dict[str, float]) -> dict[str, float]:
    """Add `others`: cores the machine used beyond the listed processes (database, Redis…)."""
    ours = sum(v for k, v in cpu.items() if k != "machine_busy")
    return {**cpu, "others_cores": round(max(0.0, cpu["machine_busy"] * (os.cpu_count() or 1)
                                             - ours), 3)}


def worker_pids(st: Stack) -> dict[str, int]:
    """This process, the API, model, worker main process and its pool children, by name."""
    pids = {"bench": os.getpid(), "api": st.api.process.pid, "model": st.model.process.pid}
    for i, proc in enumerate(st.workers):
        pids[f"worker{i}_main"] = proc.pid
        for j, child in enumerate(st.children(proc)):
            pids[f"worker{i}_child{j}"] = child
    return pids


@contextlib.contextmanager
def py_spy(pids: dict[str, int], folder: Path | None, *, gil: bool = False) -> Iterator[None]:
    """With a folder: `py-spy record` (raw collapsed stacks) of each process during the block;
    `gil`: only the thread holding the GIL (where a process's Python CPU goes)."""
    if folder is None:
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    procs = [subprocess.Popen([str(BIN / "py-spy"), "record", "--pid", str(pid), "--rate", "200",
                               "--format", "raw", "--nonblocking", *(["--gil"] if gil else []),
                               "--output",
                               str(folder / f"{name}.txt")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for name, pid in pids.items() if name != "bench"]
    time.sleep(1.0)  # attached
    try:
        yield
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def measure_runs(st: Stack, db: Runs, n: int, concurrency: int, workers: int,
                 profile: Path | None = None) -> dict[str, Any]:
    """(a): N simple runs as fast as the pipeline completes them."""
    asst, threads = asyncio.run(prepare(st, n, "bench-burst", concurrency))
    events = TaskEvents(st.env["ORCH_REDIS_URL"])
    with py_spy(worker_pids(st), profile), events.capture():
        cpu0 = CpuSample.take(worker_pids(st))
        t0 = time.time()
        posted, _, errors = asyncio.run(create_runs(st, asst, threads, concurrency))
        t_created = time.time()
        completed = db.wait(asst, len(posted), timeout=600)
        cpu1 = CpuSample.take(worker_pids(st))
        cpu = with_others(cpu0.until(cpu1))
    done = db.rows(list(posted))
    end = max(ts for _, ts in done.values())
    wall = end - t0
    lat = [done[r][1] - posted[r] for r in posted if done[r][0] == "completed"]
    return {
        "runs": n, "create_errors": errors, "completed": completed,
        "seconds": round(wall, 3), "runs_per_s": round(completed / wall, 2),
        "creates_took_s": round(t_created - t0, 3),
        "create_to_completed": ms(lat),
        "overhead_p50_ms": round(percentile(lat, 50) * 1000, 1),
        "breakdown": breakdown(posted, done, events, wall, workers),
        "cpu_cores": cpu,
        "cpu_ms_per_run": {k: round((cpu1.procs[k] - v) * 1000 / max(completed, 1), 2)
                           for k, v in cpu0.procs.items() if k != "bench"},
    }


def measure_one_at_a_time(st: Stack, db: Runs, n: int, workers: int) -> dict[str, Any]:
    """(a'): create->completed of runs created one after another (nothing queued)."""
    asst, threads = asyncio.run(prepare(st, n, "bench-single", 4))
    events = TaskEvents(st.env["ORCH_REDIS_URL"])
    posted: dict[str, float] = {}
    answered: list[float] = []

    async def one_by_one() -> None:
        async with client(st, 1) as c:
            for i, thread_id in enumerate(threads):
                t = time.time()
                r = await c.post(f"/threads/{thread_id}/runs", json={"assistant_id": asst})
                answered.append(time.time() - t)
                r.raise_for_status()
                posted[r.json()["id"]] = t
                db.wait(asst, i + 1, timeout=60, every=0.005)  # nothing else to do meanwhile

    with events.capture():
        t0 = time.time()
        asyncio.run(one_by_one())
        wall = time.time() - t0
    done = db.rows(list(posted))
    lat = [done[r][1] - posted[r] for r in posted if done[r][0] == "completed"]
    return {"runs": n, "completed": len(lat), "create_to_completed": ms(lat),
            "post_response": ms(answered),
            "overhead_p50_ms": round(percentile(lat, 50) * 1000, 1),
            "breakdown": breakdown(posted, done, events, wall, workers)}


# --- (b) ----------------------------------------------------------------------------------------


def sender(broker_url: str) -> Celery:
    """Publishes like the API does (orchestrator.jobs.producer(): no task-sent events)."""
    app = Celery("bench-sender", broker=broker_url)
    app.conf.update(task_serializer="json", accept_content=["json"], task_ignore_result=True,
                    broker_connection_retry_on_startup=True)
    return app


def wait_counter(r: redis.Redis, key: str, n: int, timeout: float) -> int:
    """Poll a Redis counter until it reaches n; its last value."""
    deadline = time.time() + timeout
    while True:
        value = int(r.get(key) or 0)
        if value >= n or time.time() > deadline:
            return value
        time.sleep(0.005)


def measure_noop(st: Stack, n: int, worker_args: list[str], rounds: int,
                 task_events: bool = True) -> dict[str, Any]:
    """(b): no-op tasks per second, our settings, a separate worker process like ours.

    `rounds` rounds of `n` tasks each (a round at a few hundred tasks/s lasts about a second,
    so one round alone is noisy); the median round is the figure.
    """
    log = (st.workdir / "noop-worker.log").open("wb")
    proc = subprocess.Popen(
        [str(BIN / "celery"), "-A", "bench.noop_app", "worker", "-Q", NOOP_QUEUE,
         "-n", "noop@%h", *(["-E"] if task_events else []), "--loglevel", "info",
         *worker_args],
        env=st.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    r = redis.Redis.from_url(st.env["ORCH_REDIS_URL"])
    app = sender(st.env["ORCH_REDIS_URL"])
    try:
        with app.producer_or_acquire() as producer:
            warm = 20
            for _ in range(warm):  # proves the worker consumes; warms its children
                app.send_task("bench.noop", args=["bench:noop:warm"], queue=NOOP_QUEUE,
                              producer=producer)
            if wait_counter(r, "bench:noop:warm", warm, 60) < warm:
                raise RuntimeError("no-op worker did not start:\n"
                                   + (st.workdir / "noop-worker.log").read_text()[-3000:])
            pids = {"bench": os.getpid(), "noop_main": proc.pid,
                    **{f"noop_child{i}": c for i, c in enumerate(Stack.children(proc))}}
            results = []
            for i in range(rounds):
                key = f"bench:noop:{i}"
                cpu0 = CpuSample.take(pids)
                t0 = time.time()
                for _ in range(n):
                    app.send_task("bench.noop", args=[key], queue=NOOP_QUEUE,
                                  producer=producer)
                sent = time.time() - t0
                got = wait_counter(r, key, n, 300)
                wall = time.time() - t0
                results.append({"executed": got, "seconds": round(wall, 3),
                                "sending_took_s": round(sent, 3),
                                "tasks_per_s": round(got / wall, 1),
                                "cpu_cores": with_others(cpu0.until(CpuSample.take(pids)))})
        median = sorted(results, key=lambda x: x["tasks_per_s"])[len(results) // 2]
        return {"tasks": n, "rounds": results, **median}
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 9)
        proc.wait()
        log.close()


# --- (c) ----------------------------------------------------------------------------------------


def in_progress(db: Runs, ids: list[str]) -> int:
    """How many of the runs are in_progress."""
    return sum(status == "in_progress" for status, _ in db.rows(ids).values())


def measure_recovery(st: Stack, db: Runs, worker_args: list[str], workers: int,
                     n: int = 20) -> dict[str, Any]:
    """(c): SIGKILL the worker group with model calls in flight; time the new worker's recovery."""
    tag = "bench-recover-" + os.urandom(4).hex()
    st.model.script({"match": tag, "reply": {"content": "recovered", "delay_ms": 1000}})
    asst, threads = asyncio.run(prepare(st, n, tag, 8))
    posted, thread_of, errors = asyncio.run(create_runs(st, asst, threads, n))
    ids = list(posted)
    deadline = time.time() + 30
    while in_progress(db, ids) < min(workers, n) and time.time() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # the model calls are under way (they take 1 s)
    before = db.rows(ids)
    for proc in list(st.workers):
        st.kill_group(proc)
        st.workers.remove(proc)
    t_start = time.time()
    st.start_worker(*worker_args)
    completed = db.wait(asst, len(ids), timeout=300)
    done = db.rows(ids)
    last = max(ts for _, ts in done.values())
    answers: dict[str, int] = {}
    with httpx.Client(base_url=st.api.base_url, headers=headers(st), timeout=30) as c:
        for run_id, thread_id in thread_of.items():
            msgs = c.get(f"/threads/{thread_id}/messages", params={"run_id": run_id}).json()
            answers[run_id] = sum(m["role"] == "assistant" for m in msgs["data"])
    model_calls = sum(any(tag in str(m.get("content")) for m in body.get("messages", []))
                      for body in st.model.requests())
    killed_in_flight = sum(s == "in_progress" for s, _ in before.values())
    after = {rid: round(ts - t_start, 2) for rid, (_, ts) in done.items()
             if before.get(rid, ("", 0.0))[0] != "completed"}
    flight = [v for rid, v in after.items() if before[rid][0] == "in_progress"]
    queued = [v for rid, v in after.items() if before[rid][0] != "in_progress"]
    done_before = sum(s == "completed" for s, _ in before.values())
    left = n - done_before
    lease = float(st.env.get("ORCH_LEASE_SECONDS", FAST_SETTINGS["ORCH_LEASE_SECONDS"]))
    return {
        "runs": n, "create_errors": errors, "completed_before_kill": done_before,
        "in_flight_at_kill": killed_in_flight,
        "seconds_new_worker_start_to_all_completed": round(last - t_start, 2),
        "seconds_to_first_completion": min(after.values(), default=0.0),
        "in_flight_runs_completed_at_s": sorted(flight),
        "queued_runs_last_completed_at_s": max(queued, default=0.0),
        # Lower bound: in-flight runs wait out their lease (+ a sweep), then everything left
        # needs ceil(left / W) rounds of a 1 s model call.
        "lease_seconds": lease,
        "ideal_seconds_without_lease": float(math.ceil(left / workers)),
        "all_completed": completed == n,
        "assistant_messages_per_run": sorted(set(answers.values())),
        "exactly_one_assistant_message_each": all(v == 1 for v in answers.values()),
        "model_calls_for_these_runs": model_calls,
    }


# --- driver -------------------------------------------------------------------------------------


def stop_workers(st: Stack) -> None:
    """Stop the run workers gracefully (beat keeps running)."""
    for proc in list(st.workers):
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            st.kill_group(proc)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, 9)
        st.workers.remove(proc)


def warm_up(st: Stack, db: Runs, workers: int) -> None:
    """A few runs through the fresh worker: imports, connections and pool children are hot."""
    asst, threads = asyncio.run(prepare(st, 2 * workers, "bench-warm", 4))
    posted, _, _ = asyncio.run(create_runs(st, asst, threads, 4))
    if db.wait(asst, len(posted), timeout=120) < len(posted):
        raise RuntimeError("warm-up runs did not complete:\n" + st.worker_log())


def report(res: dict[str, Any]) -> str:
    """The human-readable summary."""
    a, one, b, c = res["runs"], res["one_at_a_time"], res["noop"], res["recovery"]
    bd, bd1 = a["breakdown"], one["breakdown"]
    lat, lat1 = a["create_to_completed"], one["create_to_completed"]
    verdict = "met" if res["a_over_b"] >= 0.5 else "NOT met"
    lines = [
        f"backend={res['backend']}  worker: {res.get('pool', 'prefork')} --concurrency"
        f" {res['worker_concurrency']}"
        f"  client concurrency={res['client_concurrency']}  cpus={os.cpu_count()}",
        f"(a)  {a['completed']}/{a['runs']} runs completed in {a['seconds']:.2f} s ="
        f" {a['runs_per_s']:.1f} runs/s (creates took {a['creates_took_s']:.2f} s)",
        f"     create->completed p50 {lat['p50_ms']:.0f} ms  p95 {lat['p95_ms']:.0f} ms"
        f"  p99 {lat['p99_ms']:.0f} ms  (overhead p50 = {a['overhead_p50_ms']:.0f} ms, queueing"
        " included)",
        f"     split (p50): POST->worker received {bd['post_to_worker_received']['p50_ms']:.0f}"
        f" ms, ->pool slot started {bd['received_to_child_started']['p50_ms']:.0f} ms,"
        f" ->completed {bd['child_started_to_completed']['p50_ms']:.1f} ms;"
        f" runs.advance runtime mean {bd['task_runtime']['mean_ms']:.1f} ms,"
        f" pool busy {bd['pool_busy']:.0%}",
        f"     CPU cores used: {fmt_cpu(a['cpu_cores'])}",
        "     CPU ms per run: " + ", ".join(f"{k} {v:.2f}" for k, v in a["cpu_ms_per_run"].items()),
        f"(a') one at a time ({one['runs']} runs): create->completed p50"
        f" {lat1['p50_ms']:.1f} ms  p95 {lat1['p95_ms']:.1f} ms  p99 {lat1['p99_ms']:.1f} ms",
        f"     split (p50): POST answered {one['post_response']['p50_ms']:.1f} ms;"
        f" POST->worker received {bd1['post_to_worker_received']['p50_ms']:.1f}"
        f" ms, ->pool slot started {bd1['received_to_child_started']['p50_ms']:.1f} ms,"
        f" ->completed {bd1['child_started_to_completed']['p50_ms']:.1f} ms",
        f"(b)  no-op Celery tasks, median of {len(b['rounds'])} rounds: {b['executed']}/"
        f"{b['tasks']} in {b['seconds']:.2f} s = {b['tasks_per_s']:.0f} tasks/s (sending took"
        f" {b['sending_took_s']:.2f} s; all rounds:"
        f" {', '.join(str(round(x['tasks_per_s'])) for x in b['rounds'])})",
        f"     CPU cores used: {fmt_cpu(b['cpu_cores'])}",
        f"a/b = {res['a_over_b']:.3f}  (goal >= 0.5: {verdict})",
        f"overhead p50: burst {a['overhead_p50_ms']:.0f} ms, one at a time"
        f" {one['overhead_p50_ms']:.1f} ms  (goal <= 20 ms)",
        f"(c)  SIGKILL with {c['in_flight_at_kill']} of {c['runs']} runs in flight"
        f" ({c['completed_before_kill']} already done): all completed"
        f" {c['seconds_new_worker_start_to_all_completed']:.1f} s after the new worker started"
        f" (lease {c['lease_seconds']:g} s; {c['ideal_seconds_without_lease']:.0f} s of model"
        f" time left per child; first completion at {c['seconds_to_first_completion']:.1f} s,"
        f" the killed in-flight runs at {c['in_flight_runs_completed_at_s']} s, the last queued"
        f" one at {c['queued_runs_last_completed_at_s']:.1f} s);"
        f" all completed: {c['all_completed']}; exactly one assistant"
        f" message each: {c['exactly_one_assistant_message_each']}; model calls:"
        f" {c['model_calls_for_these_runs']}",
    ]
    return "\n".join(lines)


def fmt_cpu(cpu: dict[str, float]) -> str:
    """'api 0.52, worker0_main 0.10, …, machine busy 93%'."""
    parts = [f"{k.removesuffix('_cores')} {v:.2f}" for k, v in cpu.items()
             if k != "machine_busy"]
    return ", ".join(parts) + f"; machine busy {cpu.get('machine_busy', 0):.0%}"


def ensure_redis_db_unused(url: str) -> None:
    """Refuse to run when other clients use our Redis database (a stray worker steals tasks)."""
    r = redis.Redis.from_url(url)
    me = r.client_id()
    db = r.connection_pool.connection_kwargs.get("db", 0)
    others = [c for c in r.client_list() if int(c.get("db", -1)) == db and int(c["id"]) != me]
    if others:
        raise SystemExit(f"{len(others)} other client(s) are connected to {url} (a leftover"
                         " worker?); stop them or pass another --redis-url")


def main() -> None:
    """Parse arguments, run (a), (a'), (b), (c) on one stack, print and save the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"],
                        default="postgres" if postgres_available() else "sqlite")
    parser.add_argument("--runs", type=int, default=300, help="runs in (a)")
    parser.add_argument("--concurrency", type=int, default=16,
                        help="concurrent HTTP requests of the client")
    parser.add_argument("--pool", default="threads", choices=["threads", "prefork"],
                        help="Celery pool of the run worker and of the no-op worker")
    parser.add_argument("--worker-concurrency", type=int, default=0,
                        help="pool size of both workers (default: 200 threads, 2 prefork)")
    parser.add_argument("--noop-tasks", type=int, default=0, help="tasks in (b); default N")
    parser.add_argument("--noop-rounds", type=int, default=5,
                        help="rounds of (b); the median round is reported")
    parser.add_argument("--latency-runs", type=int, default=50, help="runs in (a')")
    parser.add_argument("--redis-url", default=REDIS_URL)
    parser.add_argument("--profile", type=Path, default=None,
                        help="folder for py-spy raw profiles of api/worker/model during (a)")
    args = parser.parse_args()
    ensure_redis_db_unused(args.redis_url)
    # SIGTERM unwinds like Ctrl-C, so the stack's processes are stopped, not orphaned.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    w = args.worker_concurrency or (200 if args.pool == "threads" else 2)
    worker_args = ["--pool", args.pool, "--concurrency", str(w)]
    ours = [*worker_args, "--task-events"]  # the no-op worker gets -E: the same cost on both
    workdir = Path(tempfile.mkdtemp(prefix="bench-runs-"))
    db_cm = postgres_database() if args.backend == "postgres" else sqlite_database(workdir)
    print(f"bench-runs: backend={args.backend}, logs in {workdir}", file=sys.stderr)
    with db_cm as url, stack(url, workdir, args.redis_url, workers=0, beat=True) as st:
        db = Runs(url)
        try:
            st.start_worker(*ours)
            warm_up(st, db, w)
            runs = measure_runs(st, db, args.runs, args.concurrency, w, args.profile)
            one = measure_one_at_a_time(st, db, args.latency_runs, w)
            stop_workers(st)
            noop = measure_noop(st, args.noop_tasks or args.runs, worker_args, args.noop_rounds)
            st.start_worker(*ours)
            warm_up(st, db, w)
            recovery = measure_recovery(st, db, ours, w)
        finally:
            db.dispose()
    res = {"backend": args.backend, "pool": args.pool, "worker_concurrency": w,
           "client_concurrency": args.concurrency, "stack_settings": FAST_SETTINGS,
           "runs": runs, "one_at_a_time": one, "noop": noop,
           "a_over_b": round(runs["runs_per_s"] / noop["tasks_per_s"], 3),
           "recovery": recovery, "machine": machine_info(), "args": vars(args)}
    print(report(res))
    print(f"wrote {write_results('runs', res)}")


if __name__ == "__main__":
    main()
