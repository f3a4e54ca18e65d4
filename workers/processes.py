"""`orchestrator worker --processes N`: N Celery worker processes under one command.

One threads-pool process keeps hundreds of model calls in flight, but its Python code runs under
one GIL: measured on 2 cores with a 1 s model it tops out at about 0.75 of a core and ~95 runs/s,
with the rest of the machine idle (bench/README.md, Batches). One process per core, each with
its share of the concurrency, uses the machine, as gunicorn's workers x threads do for web apps.

The parent only supervises: it starts the children (each an ordinary `orchestrator worker
--processes 1`, its own Celery node), passes SIGTERM / SIGINT / SIGQUIT on (Celery's warm or
cold shutdown), restarts a child that died, and gives up when children keep dying at start.
Children die with the parent (PR_SET_PDEATHSIG on Linux): a SIGKILLed parent leaves no orphan
consuming tasks, and its runs' leases lapse for the sweeper like any killed worker's.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

RESTART_DELAY = 1.0  # seconds before a dead child is started again
QUICK_DEATH = 5.0  # a child that dies sooner than this after its start counts as failing
MAX_QUICK_DEATHS = 3  # in a row, then the whole worker stops (a config error, not a crash)
SHUTDOWN_GRACE = 60.0  # seconds the children get to finish their tasks on SIGTERM
PR_SET_PDEATHSIG = 1


def cpu_count() -> int:
    """CPUs this process may run on (the container's share, not the host's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def child_name(name: str, index: int) -> str:
    """Node name of child `index`: the first keeps the worker's own name (health checks)."""
    return name if index == 0 else f"{name}-{index + 1}"


def _die_with_parent() -> None:
    """In the child, before exec: the kernel sends SIGTERM when the parent dies."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux: no such guarantee
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def supervise(argv_for: Callable[[int], list[str]], count: int,
              env_for: Callable[[int], dict[str, str] | None] = lambda _: None) -> int:
    """Run `count` children (argv_for(i) / env_for(i): child i's command line and environment)
    until told to stop."""
    started = [0.0] * count
    quick_deaths = [0] * count
    stopping: list[int] = []

    def start(i: int) -> subprocess.Popen[bytes]:
        started[i] = time.monotonic()
        return subprocess.Popen(argv_for(i), env=env_for(i), preexec_fn=_die_with_parent)

    procs = [start(i) for i in range(count)]  # a signal before the handlers: they die with us

    def forward(signum: int, _frame: object) -> None:
        stopping.append(signum)
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM if signum == signal.SIGINT else signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
        signal.signal(signum, forward)
    while not stopping:
        time.sleep(0.5)
        for i, proc in enumerate(procs):
            if proc.poll() is None or stopping:
                continue
            quick = time.monotonic() - started[i] < QUICK_DEATH
            quick_deaths[i] = quick_deaths[i] + 1 if quick else 0
            if quick_deaths[i] >= MAX_QUICK_DEATHS:
                print(f"worker process {i + 1} keeps exiting (code {proc.returncode});"
                      " stopping", file=sys.stderr, flush=True)
                forward(signal.SIGTERM, None)
                _wait(procs)
                return proc.returncode or 1
            print(f"worker process {i + 1} exited with code {proc.returncode}; restarting",
                  file=sys.stderr, flush=True)
            time.sleep(RESTART_DELAY)
            procs[i] = start(i)
    _wait(procs)
    return 0


def _wait(procs: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + SHUTDOWN_GRACE
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
