"""API CPU per request on the hot paths, against a bare uvicorn app measured in the same run.

    python -m bench.bench_api_cpu [--backend sqlite|postgres] [--n N] [--rounds R]
                                  [--concurrency C] [--profile DIR]

C keep-alive connections (bench/rawhttp.py, default 16) send N requests of each kind; the API
process's own CPU time (/proc) over them, divided by N, is its CPU per request. Kinds: run
create on a new thread, run retrieve, message create, message list (20 of a thread of 32 and
more), and create_and_run; the baseline is the bare app's GET (bench/bare_app.py) with the same
client. No worker runs: a created run stays queued (its broker message waits in Redis).
`--profile DIR` records py-spy raw stacks of the API's GIL holder (`--gil`) for each kind into
DIR/round<r>/<kind>.txt (read them with `python -m bench.profile_report`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from bench.bench_intake import BETA
from bench.bench_runs import py_spy
from bench.common import bare_server, machine_info, proc_cpu, write_results
from bench.rawhttp import RawClient, RawResponse
from orchestrator.redis_client import new_redis
from tests.support.servers import api_server, postgres_database, sqlite_database

Send = Callable[[RawClient, int], Awaitable[RawResponse]]


def _cpu_ms_per(pid: int, base_url: str, headers: dict[str, str], send: Send, n: int,
                concurrency: int) -> float:
    """The process's CPU milliseconds per request over n requests (after 20 unmeasured) sent
    by `concurrency` keep-alive connections."""
    async def drive() -> float:
        async with RawClient(base_url, concurrency, headers) as client:
            async def batch(indices: range) -> None:
                it = iter(indices)

                async def one() -> None:
                    for i in it:
                        resp = await send(client, i)
                        if resp.status_code >= 300:
                            raise RuntimeError(f"{resp.status_code}: {resp.text[:300]}")
                await asyncio.gather(*(one() for _ in range(concurrency)))

            await batch(range(-20, 0))
            before = proc_cpu(pid)
            await batch(range(n))
            return proc_cpu(pid) - before
    return round(asyncio.run(drive()) * 1000 / n, 3)


def _kinds(client: httpx.Client, n: int) -> dict[str, Send]:
    """The measured requests, with what they need made beforehand (not measured)."""
    asst = client.post("/assistants", json={"model": "m", "instructions": "be brief"}).json()["id"]
    fresh = [client.post("/threads", json={}).json()["id"] for _ in range(n + 20)]
    thread = client.post("/threads", json={"messages": [
        {"role": "user", "content": f"m{i}"} for i in range(32)]}).json()["id"]
    run = client.post("/threads/runs", json={"assistant_id": asst}).json()
    message = client.get(f"/threads/{thread}/messages", params={"limit": 1}).json()["data"][0]
    return {
        "run create": lambda c, i: c.request("POST", f"/v1/threads/{fresh[i]}/runs",
                                             json={"assistant_id": asst}),
        "run retrieve": lambda c, i: c.request(
            "GET", f"/v1/threads/{run['thread_id']}/runs/{run['id']}"),
        "message create": lambda c, i: c.request(
            "POST", f"/v1/threads/{thread}/messages",
            json={"role": "user", "content": f"hello {i}"}),
        "message list": lambda c, i: c.request("GET", f"/v1/threads/{thread}/messages",
                                               params={"limit": 20}),
        "message retrieve": lambda c, i: c.request(
            "GET", f"/v1/threads/{thread}/messages/{message['id']}"),
        "run list": lambda c, i: c.request("GET", f"/v1/threads/{run['thread_id']}/runs"),
        "create_and_run": lambda c, i: c.request("POST", "/v1/threads/runs", json={
            "assistant_id": asst, "thread": {"messages": [{"role": "user", "content": "hi"}]}}),
    }


@contextlib.contextmanager
def _database(backend: str, folder: Path) -> Iterator[str]:
    with (postgres_database() if backend == "postgres" else sqlite_database(folder)) as url:
        yield url


def measure(backend: str, n: int, rounds: int, concurrency: int, profile: Path | None,
            redis_url: str) -> dict[str, Any]:
    """Each kind's API CPU ms per request in every round, and the bare app's."""
    out: dict[str, list[float]] = {}
    new_redis(redis_url).flushdb()
    with tempfile.TemporaryDirectory() as tmp, _database(backend, Path(tmp)) as url, \
            api_server(url, Path(tmp), ORCH_REDIS_URL=redis_url) as srv, \
            bare_server(Path(tmp)) as (bare_url, bare):
        headers = {"Authorization": f"Bearer {srv.keys[0]}", **BETA}
        with httpx.Client(base_url=srv.base_url, headers=headers, timeout=60) as client:
            for r in range(rounds):
                out.setdefault("bare GET", []).append(_cpu_ms_per(
                    bare.pid, bare_url, {}, lambda c, i: c.request("GET", "/health"), n,
                    concurrency))
                for kind, send in _kinds(client, n).items():
                    folder = profile / f"round{r}" if profile else None
                    with py_spy({kind.replace(" ", "_"): srv.process.pid}, folder, gil=True):
                        out.setdefault(kind, []).append(_cpu_ms_per(
                            srv.process.pid, srv.url, headers, send, n, concurrency))
    new_redis(redis_url).flushdb()  # the queued runs' messages
    return {"backend": backend, "n": n, "concurrency": concurrency, "cpu_ms_per_request": out,
            "median": {k: statistics.median(v) for k, v in out.items()}}


def main(argv: list[str] | None = None) -> int:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--n", type=int, default=300, help="requests of each kind per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16, help="connections at once")
    parser.add_argument("--profile", type=Path, default=None,
                        help="folder for py-spy raw stacks of the API, one file per kind")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/5",
                        help="a Redis database of its own (emptied before and after)")
    args = parser.parse_args(argv)
    res = measure(args.backend, args.n, args.rounds, args.concurrency, args.profile,
                  args.redis_url)
    bare = res["median"]["bare GET"]
    print(f"API CPU per request, {args.backend}, {args.n} requests per kind on"
          f" {args.concurrency} connections,"
          f" {args.rounds} rounds (ms; median, every round; ÷ bare GET)")
    for kind, values in res["cpu_ms_per_request"].items():
        med = res["median"][kind]
        print(f"  {kind:16} {med:7.3f}   {', '.join(f'{v:.3f}' for v in values):32}"
              f" {med / bare:6.1f}x")
    print(f"results: {write_results('api_cpu', {**res, 'machine': machine_info()})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
