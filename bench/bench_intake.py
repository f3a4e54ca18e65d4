"""Intake benchmarks: message create+list throughput against a bare FastAPI app, and page
latency of a 100-message vs a 100,000-message thread. Prints a report, writes bench/results/.

    python -m bench.bench_intake [--backend sqlite|postgres|both] [--requests N] [--concurrency C]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from bench.common import (
    LoadRun,
    Recorder,
    Stats,
    async_client,
    bare_server,
    machine_info,
    percentile,
    run_load,
    write_results,
)
from bench.seed import explain_pages, seed_messages
from tests.support.servers import (
    ApiServer,
    api_server,
    postgres_available,
    postgres_database,
    sqlite_database,
)

BETA = {"OpenAI-Beta": "assistants=v2"}


def headers(server: ApiServer) -> dict[str, str]:
    """Bearer key of the server's first tenant plus the v2 beta header."""
    return {"Authorization": f"Bearer {server.keys[0]}", **BETA}


@contextlib.contextmanager
def backend_server(backend: str, workdir: Path) -> Iterator[ApiServer]:
    """A migrated, empty database of `backend` and `orchestrator api` serving it."""
    folder = workdir / backend
    folder.mkdir(parents=True, exist_ok=True)
    db = postgres_database() if backend == "postgres" else sqlite_database(folder)
    with db as url, api_server(url, folder) as srv:
        yield srv


def routes_ready(server: ApiServer) -> tuple[bool, str]:
    """True once the messages routes exist: an unknown thread gives 404 'No thread found'."""
    resp = httpx.get(server.base_url + "/threads/thread_x/messages", headers=headers(server),
                     timeout=10)
    return resp.status_code == 404 and "No thread found" in resp.text, resp.text[:200]


def wait_for_routes(workdir: Path, timeout: float, every: float = 30) -> None:
    """Start a fresh SQLite server until the routes answer (code on disk may still change)."""
    deadline = time.monotonic() + timeout
    attempt = 0
    while True:
        attempt += 1
        with backend_server("sqlite", workdir / f"probe{attempt}") as srv:
            ok, body = routes_ready(srv)
        if ok:
            return
        if time.monotonic() + every > deadline:
            sys.exit(f"messages routes not served yet (last answer: {body}); giving up")
        print(f"messages routes not there yet ({body}); retrying in {every:.0f}s", flush=True)
        time.sleep(every)


# ---------------------------------------------------------------- throughput

async def _load(kind: str, base: str, hdrs: dict[str, str], op: Any, requests: int, per_op: int,
                args: argparse.Namespace, pid: int) -> LoadRun:
    async with async_client(kind, base, args.concurrency, hdrs) as client:
        return await run_load(client, op, ops=max(1, requests // per_op),
                              concurrency=args.concurrency,
                              warmup=max(1, args.warmup // per_op),
                              max_seconds=args.max_seconds, pids={"server": pid})


def _message_ops(threads: list[str]) -> tuple[Any, Any, Any]:
    """Ops on our API: create+list pair, list only, create only."""
    def tid(i: int) -> str:
        return threads[i % len(threads)]

    async def post(i: int, rec: Recorder) -> None:
        await rec.request("POST message", "POST", f"/v1/threads/{tid(i)}/messages",
                          json={"role": "user", "content": f"hello number {i}"})

    async def get(i: int, rec: Recorder) -> None:
        await rec.request("GET messages", "GET", f"/v1/threads/{tid(i)}/messages",
                          params={"limit": 20})

    async def pair(i: int, rec: Recorder) -> None:
        await post(i, rec)
        await get(i, rec)

    return pair, get, post


async def _bare_pair(i: int, rec: Recorder) -> None:
    await rec.request("POST echo", "POST", "/bare/items",
                      json={"role": "user", "content": f"hello number {i}"})
    await rec.request("GET dict", "GET", "/bare/items")


async def _bare_get(i: int, rec: Recorder) -> None:
    await rec.request("GET dict", "GET", "/bare/items")


async def _health(i: int, rec: Recorder) -> None:
    await rec.request("GET /health", "GET", "/health")


def measure_throughput(srv: ApiServer, bare_url: str, bare_pid: int, kind: str,
                       args: argparse.Namespace) -> dict[str, Any]:
    """Bare pair vs our create+list pair, then single-kind runs that show where time goes."""
    hdrs = headers(srv)
    threads = [httpx.post(srv.base_url + "/threads", headers=hdrs, json={}, timeout=30)
               .raise_for_status().json()["id"] for _ in range(args.concurrency)]
    pair, get, post = _message_ops(threads)

    async def get_thread(i: int, rec: Recorder) -> None:
        await rec.request("GET thread", "GET", f"/v1/threads/{threads[i % len(threads)]}")

    n, pid = args.requests, srv.process.pid
    runs: dict[str, LoadRun] = {}
    runs["bare"] = asyncio.run(_load(kind, bare_url, {}, _bare_pair, n, 2, args, bare_pid))
    runs["ours"] = asyncio.run(_load(kind, srv.url, hdrs, pair, n, 2, args, pid))
    diag = [("bare GET /bare/items", bare_url, {}, _bare_get, bare_pid),
            ("ours GET /health (no auth, no db)", srv.url, {}, _health, pid),
            ("ours GET /v1/threads/{id} (auth + 1 select)", srv.url, hdrs, get_thread, pid),
            ("ours GET .../messages?limit=20 only", srv.url, hdrs, get, pid),
            ("ours POST .../messages only", srv.url, hdrs, post, pid)]
    for name, base, h, op, p in diag:
        runs[name] = asyncio.run(_load(kind, base, h, op, max(200, n // 2), 1, args, p))
    return {"ratio_ours_over_bare": round(runs["ours"].rps / runs["bare"].rps, 4),
            "runs": {k: v.to_json() for k, v in runs.items()}}


# ---------------------------------------------------------------- listing

def measure_listing(srv: ApiServer, backend: str, args: argparse.Namespace) -> dict[str, Any]:
    """Sequential page latency, small vs big thread, for desc, asc and a mid-thread cursor."""
    hdrs = headers(srv)
    url = srv.env["ORCH_DATABASE_URL"]
    sizes = {"small": args.small, "big": args.big}
    seeded: dict[str, dict[str, Any]] = {}
    for name, size in sizes.items():
        tid = httpx.post(srv.base_url + "/threads", headers=hdrs, json={}, timeout=30) \
            .raise_for_status().json()["id"]
        start = time.perf_counter()
        mid = seed_messages(url, srv.keys[0], tid, size, analyze=backend == "postgres")
        seeded[name] = {"thread_id": tid, "messages": size, "mid_id": mid,
                        "seed_seconds": round(time.perf_counter() - start, 2)}
        print(f"  seeded {size:,} messages into the {name} thread in "
              f"{seeded[name]['seed_seconds']}s", flush=True)

    cases = {"desc (default)": {"limit": 20}, "asc": {"limit": 20, "order": "asc"},
             "after=<middle id>": {"limit": 20, "after": None}}
    results: dict[str, Any] = {}
    with httpx.Client(base_url=srv.base_url, headers=hdrs, timeout=60) as client:
        for case, params in cases.items():
            row: dict[str, Any] = {}
            for name, info in seeded.items():
                p = {k: (info["mid_id"] if k == "after" else v) for k, v in params.items()}
                row[name] = _sequential(client, f"/threads/{info['thread_id']}/messages", p,
                                        args.list_requests)
            row["ratio_p50_big_over_small"] = round(row["big"]["p50_ms"] / row["small"]["p50_ms"],
                                                    3)
            row["ratio_p95_big_over_small"] = round(row["big"]["p95_ms"] / row["small"]["p95_ms"],
                                                    3)
            results[case] = row
    plans = {name: explain_pages(url, srv.keys[0], info["thread_id"], info["mid_id"])
             for name, info in seeded.items()}
    return {"threads": seeded, "cases": results, "analyzed": backend == "postgres",
            "plans": plans}


def _sequential(client: httpx.Client, path: str, params: dict[str, Any], n: int) -> dict[str, Any]:
    """`n` back-to-back GETs after a short warm-up; page checked for 20 items."""
    for _ in range(min(20, n)):
        client.get(path, params=params).raise_for_status()
    lat: list[float] = []
    for _ in range(n):
        start = time.perf_counter()
        resp = client.get(path, params=params)
        lat.append(time.perf_counter() - start)
        resp.raise_for_status()
        if len(resp.json()["data"]) != 20:
            raise RuntimeError(f"expected a full page from {path} {params}: {resp.text[:200]}")
    ms = [x * 1000 for x in lat]
    return {"count": n, "p50_ms": round(percentile(ms, 50), 3),
            "p95_ms": round(percentile(ms, 95), 3), "max_ms": round(max(ms), 3)}


# ---------------------------------------------------------------- report

def _fmt_stats(s: Stats) -> str:
    return f"{s.p50_ms:7.2f} {s.p99_ms:8.2f}"


def print_throughput(backend: str, kind: str, res: dict[str, Any],
                     args: argparse.Namespace) -> None:
    """The throughput table of one backend and one load generator."""
    print(f"\n[{backend}] throughput, {kind} client: {args.concurrency} connections, one uvicorn"
          " worker each side; req/s counts every HTTP request (a create+list pair is 2)")
    print(f"  {'run':46} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>8}   "
          f"{'srv cores':>9} {'loadgen':>7} {'machine':>7} {'errors':>6}")
    for name, run in res["runs"].items():
        s = Stats(**run["all_requests"])
        cpu = run["cpu"]
        print(f"  {name:46} {run['rps']:8.1f} {_fmt_stats(s)}   {cpu['server_cores']:9.2f} "
              f"{cpu['loadgen_cores']:7.2f} {cpu['machine_busy']:7.0%} {s.errors:6d}")
        if name in ("bare", "ours"):
            for label, st in run["per_label"].items():
                print(f"    {label:44} {'':8} {_fmt_stats(Stats(**st))}")
        for label, sample in run["error_samples"].items():
            print(f"    first error of {label}: {sample}")
    print(f"  ratio ours/bare (create+list vs echo+get, req/s): {res['ratio_ours_over_bare']:.3f}")


def print_listing(backend: str, res: dict[str, Any]) -> None:
    """The listing table of one backend."""
    small, big = res["threads"]["small"]["messages"], res["threads"]["big"]["messages"]
    print(f"\n[{backend}] page of 20, sequential requests: {small:,} vs {big:,} messages"
          f" (ANALYZE after seeding: {'yes' if res['analyzed'] else 'no'})")
    print(f"  {'case':20} {'small p50':>9} {'p95':>7} {'big p50':>9} {'p95':>7} "
          f"{'ratio p50':>9} {'p95':>6}")
    for case, row in res["cases"].items():
        print(f"  {case:20} {row['small']['p50_ms']:9.2f} {row['small']['p95_ms']:7.2f} "
              f"{row['big']['p50_ms']:9.2f} {row['big']['p95_ms']:7.2f} "
              f"{row['ratio_p50_big_over_small']:9.2f} {row['ratio_p95_big_over_small']:6.2f}")
    for thread, plans in res["plans"].items():
        for case, plan in plans.items():
            print(f"  plan, {thread} thread, {case}: {plan}")


# ---------------------------------------------------------------- main

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(prog="python -m bench.bench_intake", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    p.add_argument("--requests", type=int, default=4000,
                   help="HTTP requests per measured throughput run (pairs = N/2)")
    p.add_argument("--concurrency", type=int, default=16, help="open connections / workers")
    p.add_argument("--client", choices=["httpx", "raw", "both"], default="both",
                   help="load generator: httpx.AsyncClient, bench.rawhttp, or each in turn")
    p.add_argument("--warmup", type=int, default=400, help="unrecorded requests before each run")
    p.add_argument("--max-seconds", type=float, default=120, help="time cap per load run")
    p.add_argument("--list-requests", type=int, default=200, help="GETs per listing case")
    p.add_argument("--small", type=int, default=100, help="messages in the small thread")
    p.add_argument("--big", type=int, default=100_000, help="messages in the big thread")
    p.add_argument("--only", choices=["throughput", "listing"], default=None)
    p.add_argument("--wait-routes", type=float, default=1800,
                   help="seconds to keep re-probing for the messages routes")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Run the chosen measurements on each backend, print them, write JSON."""
    args = parse_args(argv)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    kinds = ["httpx", "raw"] if args.client == "both" else [args.client]
    if "postgres" in backends and not postgres_available():
        if args.backend == "postgres":
            sys.exit("PostgreSQL is not reachable (ORCH_TEST_PG_ADMIN)")
        print("PostgreSQL not reachable: measuring SQLite only", flush=True)
        backends.remove("postgres")
    out: dict[str, Any] = {"machine": machine_info(), "args": vars(args), "backends": {}}
    with tempfile.TemporaryDirectory(prefix="bench-intake-") as tmp:
        workdir = Path(tmp)
        wait_for_routes(workdir, args.wait_routes)
        with bare_server(workdir) as (bare_url, bare_proc):
            for backend in backends:
                print(f"\n== {backend} ==", flush=True)
                res: dict[str, Any] = {}
                with backend_server(backend, workdir) as srv:
                    if args.only in (None, "throughput"):
                        res["throughput"] = {}
                        for kind in kinds:
                            tp = measure_throughput(srv, bare_url, bare_proc.pid, kind, args)
                            res["throughput"][kind] = tp
                            print_throughput(backend, kind, tp, args)
                    if args.only in (None, "listing"):
                        res["listing"] = measure_listing(srv, backend, args)
                        print_listing(backend, res["listing"])
                out["backends"][backend] = res
    path = write_results("intake", out)
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
