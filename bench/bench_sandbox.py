"""Sandbox latency, same run: (a) `docker run --rm`, (b) first call of a thread, (c) warm call.

Run: python -m bench.bench_sandbox [--cold 10] [--first 15] [--warm 200]
(b) and (c) are sandbox time as the sandbox worker sees it (DockerBackend.execute).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from bench.common import RESULTS_DIR, percentile
from sandbox.containers import SandboxConfig
from sandbox.docker_backend import DockerBackend
from sandbox.protocol import ExecutionRequest


def stats(ms: list[float]) -> dict[str, float]:
    """p50 / p95 / mean in milliseconds."""
    return {"n": len(ms), "p50": percentile(ms, 50), "p95": percentile(ms, 95),
            "mean": sum(ms) / len(ms)}


def cold(image: str, n: int) -> list[float]:
    """(a) a fresh `docker run --rm` of a trivial Python program, same isolation flags."""
    out = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(["docker", "run", "--rm", "--network", "none", "--read-only",
                        "--cap-drop", "ALL", image, "python3", "-c", "print(6 * 7)"],
                       check=True, capture_output=True)
        out.append((time.perf_counter() - t) * 1000)
    return out


def first_calls(backend: DockerBackend, n: int) -> list[float]:
    """(b) the first call of a new thread, always served from the warm pool."""
    out = []
    for _ in range(n):
        while backend.pool.qsize() < backend.cfg.pool_size:
            time.sleep(0.05)
        key = "bench-" + uuid.uuid4().hex[:8]
        t = time.perf_counter()
        result = backend.execute(ExecutionRequest(key, "print(6 * 7)", "bench"))
        out.append((time.perf_counter() - t) * 1000)
        assert result.logs.strip() == "42", result
        backend.discard(f"bench:{key}")
    return out


def warm_calls(backend: DockerBackend, n: int) -> list[float]:
    """(c) calls on a session that already exists (state kept between them)."""
    backend.execute(ExecutionRequest("bench-warm", "x = 0", "bench"))
    out = []
    for _ in range(n):
        t = time.perf_counter()
        result = backend.execute(ExecutionRequest("bench-warm", "x += 1", "bench"))
        out.append((time.perf_counter() - t) * 1000)
        assert result.status == "ok", result
    return out


def main() -> None:
    """Measure all three in one run, print them with the ratios, save JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--image", default="orchestrator-sandbox:0.1")
    parser.add_argument("--cold", type=int, default=10)
    parser.add_argument("--first", type=int, default=15)
    parser.add_argument("--warm", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        backend = DockerBackend(SandboxConfig(image=args.image, state_dir=Path(tmp),
                                              pool_size=2))
        backend.start()
        try:
            a = stats(cold(args.image, args.cold))
            b = stats(first_calls(backend, args.first))
            c = stats(warm_calls(backend, args.warm))
        finally:
            backend.close()
    parts = {"docker_run": a, "first_call_pool_hit": b, "warm_call": c}
    for name, s in parts.items():
        print(f"{name:22s} n={s['n']:4.0f}  p50 {s['p50']:8.1f} ms  p95 {s['p95']:8.1f} ms")
    ratios = {"a_over_b_p50": a["p50"] / b["p50"], "b_over_c_p50": b["p50"] / c["p50"]}
    print(f"(a)/(b) p50 = {ratios['a_over_b_p50']:.1f}x   "
          f"(b)/(c) p50 = {ratios['b_over_c_p50']:.1f}x")
    report = {**parts, "ratios": ratios}
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "sandbox.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
