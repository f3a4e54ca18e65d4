"""The whole run pipeline as real processes: scripted model, API, Celery worker and beat."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from amqp.exceptions import NotFound
from celery import Celery
from kombu import Connection

from orchestrator.broker import QUEUES, quorum_queue
from orchestrator.redis_client import new_redis
from tests.support.redis_server import redis_server
from tests.support.servers import BIN, ROOT, ApiServer, api_server, free_port

FAST_SETTINGS = {
    "ORCH_SWEEP_INTERVAL": "1",
    "ORCH_LEASE_SECONDS": "4",
    "ORCH_HEARTBEAT_SECONDS": "1",
    "ORCH_QUEUED_STALE_SECONDS": "5",
    "ORCH_MODEL_RETRY_BASE": "0.2",
    "ORCH_MODEL_RETRY_MAX": "2",
    "ORCH_MODEL_TIMEOUT": "10",
    # Tests reason about one worker process (kills, logs); tests/workers/test_processes.py
    # covers the one-per-CPU default.
    "ORCH_WORKER_PROCESSES": "1",
}


@dataclass
class ModelServer:
    """Handle on the scripted model server process."""

    url: str
    process: subprocess.Popen[bytes]

    @property
    def base_url(self) -> str:
        """What ORCH_MODEL_BASE_URL points at."""
        return self.url + "/v1"

    def script(self, *rules: dict[str, Any], delay_ms: int | None = None) -> None:
        """Append reply rules (see tests/support/model_server.py)."""
        body: dict[str, Any] = {"rules": list(rules)}
        if delay_ms is not None:
            body["delay_ms"] = delay_ms
        httpx.post(self.url + "/_script", json=body, timeout=10).raise_for_status()

    def requests(self) -> list[dict[str, Any]]:
        """Every chat-completions body the model received."""
        return list(httpx.get(self.url + "/_requests", timeout=10).json()["requests"])

    def stats(self) -> dict[str, int]:
        """Calls answered, the most ever in flight at once, and 429s sent."""
        data = httpx.get(self.url + "/_requests", timeout=10).json()
        return {k: int(data[k]) for k in ("calls", "max_in_flight", "limited")}

    def reset(self) -> None:
        """Forget rules and requests."""
        httpx.post(self.url + "/_reset", timeout=10).raise_for_status()


@contextlib.contextmanager
def model_server(workdir: Path, delay_ms: int = 0) -> Iterator[ModelServer]:
    """Start the scripted model on a free port."""
    port = free_port()
    log = (workdir / f"model-{port}.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.model_server", "--port", str(port),
         "--delay-ms", str(delay_ms)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    server = ModelServer(f"http://127.0.0.1:{port}", proc)
    try:
        _wait(lambda: httpx.get(server.url + "/_requests", timeout=1).status_code == 200, proc)
        yield server
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def _wait(check: Any, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("process exited early")
        with contextlib.suppress(httpx.HTTPError):
            if check():
                return
        time.sleep(0.1)
    raise RuntimeError("process did not become ready")


@dataclass
class Stack:
    """API + model + worker(s) + beat sharing one database and one Redis database."""

    api: ApiServer
    model: ModelServer
    env: dict[str, str]
    workdir: Path
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    beat: subprocess.Popen[bytes] | None = None

    def start_worker(self, *extra: str, name: str = "runs",
                     env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start `orchestrator worker` (its default threads pool, 8 threads unless told)."""
        log = (self.workdir / f"worker-{len(self.workers)}.log").open("wb")
        args = list(extra) or ["--concurrency", "8"]
        proc = subprocess.Popen(
            [str(BIN / "orchestrator"), "worker", "--name", f"{name}{len(self.workers)}",
             "--log-level", "info", *args],
            env={**self.env, **(env or {})}, cwd=self.workdir, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)
        self.workers.append(proc)
        return proc

    def start_beat(self) -> None:
        """Start `orchestrator beat` (drives runs.sweep)."""
        log = (self.workdir / "beat.log").open("wb")
        self.beat = subprocess.Popen([str(BIN / "orchestrator"), "beat"], env=self.env,
                                     cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT)

    def kill_main(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL a worker's main process only (its pool children are orphaned)."""
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=20)

    def kill_group(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL a worker and every process it started."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)

    @staticmethod
    def children(proc: subprocess.Popen[bytes]) -> list[int]:
        """Pids of a worker's pool children."""
        path = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
        return [int(x) for x in path.read_text().split()] if path.exists() else []

    def stop(self) -> None:
        """Stop workers (and whatever they started) and beat."""
        procs = [*self.workers, *([self.beat] if self.beat else [])]
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for proc in self.workers:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        self.workers = []
        self.beat = None

    def stop_workers(self) -> None:
        """Stop (SIGKILL) every worker and whatever it started."""
        for proc in self.workers:
            self.kill_group(proc)
        self.workers = []

    @property
    def broker_url(self) -> str:
        """The Celery broker: ORCH_BROKER_URL (RabbitMQ) if set, else the stack's Redis."""
        return self.env.get("ORCH_BROKER_URL") or self.env["ORCH_REDIS_URL"]

    def waiting(self, queue: str) -> int:
        """Messages ready in a broker queue (LLEN on Redis, a passive declare on RabbitMQ)."""
        if not self.broker_url.startswith("amqp"):
            return int(new_redis(self.broker_url).llen(queue))
        with Connection(self.broker_url, connect_timeout=5) as conn:
            try:
                return int(conn.channel().queue_declare(queue=queue,
                                                        passive=True).message_count)
            except NotFound:
                return 0

    def producer(self) -> Celery:
        """A Celery app publishing to this stack's broker as the API does (same queues)."""
        app = Celery("test-producer", broker=self.broker_url)
        if self.broker_url.startswith("amqp"):
            app.conf.task_queues = [quorum_queue(name) for name in QUEUES]
        return app

    def worker_log(self) -> str:
        """Everything the workers printed (for failure messages)."""
        return "\n".join(p.read_text(errors="replace")[-4000:]
                         for p in sorted(self.workdir.glob("worker-*.log")))


@contextlib.contextmanager
def stack(database_url: str, workdir: Path, redis_url: str | None = None, *, workers: int = 1,
          beat: bool = True, **settings: str) -> Iterator[Stack]:
    """Everything a run needs, as real processes; the Redis database is emptied first.

    Without `redis_url` the stack gets a redis-server of its own: two stacks' workers on one
    broker would take each other's tasks (each finding no such run in its own database).
    """
    with contextlib.ExitStack() as own:
        if redis_url is None:
            redis_url = own.enter_context(redis_server(workdir)).url
        yield own.enter_context(_stack(database_url, workdir, redis_url, workers, beat,
                                       settings))


@contextlib.contextmanager
def _stack(database_url: str, workdir: Path, redis_url: str, workers: int, beat: bool,
           settings: dict[str, str]) -> Iterator[Stack]:
    new_redis(redis_url).flushdb()  # a redis:// or a sentinel:// URL
    with model_server(workdir) as model:
        env_extra = {**FAST_SETTINGS, "ORCH_MODEL_BASE_URL": model.base_url,
                     "ORCH_MODEL_API_KEY": "sk-model", "ORCH_REDIS_URL": redis_url, **settings}
        with api_server(database_url, workdir, **env_extra) as api:
            env = {**api.env, **env_extra}
            st = Stack(api, model, env, workdir)
            try:
                for _ in range(workers):
                    st.start_worker()
                if beat:
                    st.start_beat()
                yield st
            finally:
                st.stop()
