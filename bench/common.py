"""Shared benchmark pieces: a fixed-concurrency httpx load generator, stats, CPU, processes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.rawhttp import RawClient
from tests.support.servers import ROOT, free_port

RESULTS_DIR = ROOT / "bench" / "results"
TICKS = os.sysconf("SC_CLK_TCK")

# One operation: given its index, issue requests and record them; returns nothing.
Op = Callable[[int, "Recorder"], Awaitable[None]]


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation; 0.0 for no values."""
    if not values:
        return 0.0
    s = sorted(values)
    pos = (len(s) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


@dataclass
class Stats:
    """Latency summary (milliseconds) of one kind of request."""

    count: int
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float

    @classmethod
    def of(cls, latencies: list[float], errors: int) -> Stats:
        """Summarise latencies given in seconds."""
        ms = [x * 1000 for x in latencies]
        return cls(len(ms), errors, round(percentile(ms, 50), 3), round(percentile(ms, 95), 3),
                   round(percentile(ms, 99), 3), round(sum(ms) / len(ms), 3) if ms else 0.0,
                   round(max(ms), 3) if ms else 0.0)


@dataclass
class Recorder:
    """Collects per-label latencies and failures while a load runs."""

    client: Any  # httpx.AsyncClient or bench.rawhttp.RawClient: same request() signature
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    samples: dict[str, str] = field(default_factory=dict)

    async def request(self, label: str, method: str, url: str, **kw: Any) -> Any:
        """Issue one timed request; a non-2xx answer or transport error counts as an error."""
        start = time.perf_counter()
        try:
            resp = await self.client.request(method, url, **kw)
        except (httpx.HTTPError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            self._fail(label, f"{type(exc).__name__}: {exc}")
            return None
        elapsed = time.perf_counter() - start
        if resp.status_code >= 300:
            self._fail(label, f"{resp.status_code}: {resp.text[:300]}")
            return resp
        self.latencies.setdefault(label, []).append(elapsed)
        return resp

    def _fail(self, label: str, detail: str) -> None:
        self.errors[label] = self.errors.get(label, 0) + 1
        self.samples.setdefault(label, detail)

    def stats(self) -> dict[str, Stats]:
        """Stats per label."""
        labels = set(self.latencies) | set(self.errors)
        return {k: Stats.of(self.latencies.get(k, []), self.errors.get(k, 0))
                for k in sorted(labels)}


@dataclass
class CpuSample:
    """CPU seconds of given processes and of the whole machine, at one instant."""

    wall: float
    procs: dict[str, float]
    busy: float
    total: float

    @classmethod
    def take(cls, pids: dict[str, int]) -> CpuSample:
        """Read /proc for each named pid (user+system time) and /proc/stat."""
        procs = {name: proc_cpu(pid) for name, pid in pids.items()}
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + fields[4]
        return cls(time.perf_counter(), procs, (sum(fields) - idle) / TICKS, sum(fields) / TICKS)

    def until(self, later: CpuSample) -> dict[str, float]:
        """Cores used per process over the interval, and machine busy fraction (0-1)."""
        wall = later.wall - self.wall or 1e-9
        out = {f"{k}_cores": round((later.procs[k] - v) / wall, 3) for k, v in self.procs.items()}
        total = later.total - self.total or 1e-9
        out["machine_busy"] = round((later.busy - self.busy) / total, 3)
        return out


def working_processes(proc: subprocess.Popen[bytes]) -> list[int]:
    """Pids doing a worker's work: the processes it supervises (`--processes` > 1), else itself."""
    path = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    children = [int(x) for x in path.read_text().split()] if path.exists() else []
    return children if len(children) > 1 else [proc.pid]


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (0.0 once it is gone)."""
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        parts = stat.rsplit(")", 1)[1].split()
        return (int(parts[11]) + int(parts[12])) / TICKS
    return 0.0


@dataclass
class LoadRun:
    """The outcome of one fixed-concurrency load."""

    ops: int
    elapsed_s: float
    requests: int
    rps: float
    ops_per_s: float
    per_label: dict[str, Stats]
    all_requests: Stats
    cpu: dict[str, float]
    error_samples: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


async def run_load(client: Any, op: Op, *, ops: int, concurrency: int,
                   warmup: int, max_seconds: float, pids: dict[str, int]) -> LoadRun:
    """Run `warmup` unrecorded ops, then `ops` ops with `concurrency` workers (or until time)."""
    await _drive(Recorder(client), op, warmup, concurrency, max_seconds)
    rec = Recorder(client)
    before = CpuSample.take({**pids, "loadgen": os.getpid()})
    start = time.perf_counter()
    done = await _drive(rec, op, ops, concurrency, max_seconds)
    elapsed = time.perf_counter() - start
    cpu = before.until(CpuSample.take({**pids, "loadgen": os.getpid()}))
    everything = [x for v in rec.latencies.values() for x in v]
    n_err = sum(rec.errors.values())
    n_req = len(everything) + n_err
    return LoadRun(done, round(elapsed, 3), n_req, round(len(everything) / elapsed, 1),
                   round(done / elapsed, 1), rec.stats(), Stats.of(everything, n_err), cpu,
                   rec.samples)


async def _drive(rec: Recorder, op: Op, ops: int, concurrency: int, max_seconds: float) -> int:
    """Workers take op indices from a shared counter until `ops` or the deadline."""
    counter = iter(range(ops))
    deadline = time.perf_counter() + max_seconds
    done = 0

    async def worker() -> None:
        nonlocal done
        for i in counter:
            if time.perf_counter() > deadline:
                return
            await op(i, rec)
            done += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done


def async_client(kind: str, base_url: str, concurrency: int, headers: dict[str, str]) -> Any:
    """A keep-alive HTTP/1.1 client with exactly `concurrency` connections: httpx or raw."""
    if kind == "raw":
        return RawClient(base_url, concurrency, headers)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits, timeout=60)


@contextlib.contextmanager
def bare_server(workdir: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start bench.bare_app under uvicorn (one worker, no access log) on a free port."""
    port = free_port()
    log_path = workdir / f"bare-{port}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "bench.bare_app", "--port", str(port)],
                                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ok(url + "/health", proc, log_path)
        yield url, proc
    finally:
        stop(proc)


def wait_ok(url: str, proc: subprocess.Popen[bytes], log_path: Path, timeout: float = 30) -> None:
    """Poll `url` until it answers 200; fail with the log if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log_path.read_text(errors='replace')}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"server at {url} did not become healthy")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate a process we started, killing it if it lingers."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def machine_info() -> dict[str, Any]:
    """What the figures were measured on."""
    import fastapi
    import uvicorn

    return {"python": platform.python_version(), "cpus": os.cpu_count(),
            "platform": platform.platform(), "fastapi": fastapi.__version__,
            "uvicorn": uvicorn.__version__, "httpx": httpx.__version__}


def write_results(name: str, payload: dict[str, Any]) -> Path:
    """Write bench/results/<name>-<UTC time>.json and return its path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return path
