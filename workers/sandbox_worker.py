"""The sandbox worker process: a Docker backend from Settings behind `sandbox.execute`."""

from __future__ import annotations

import atexit
import contextlib
import socket
import threading
from typing import Any

from redis.exceptions import RedisError
from sqlmodel import select

from orchestrator.config import Settings, get_settings
from orchestrator.db import unit_of_work
from orchestrator.engine.code_interpreter import alive_key, renew_job_lease
from orchestrator.engine.status import RunStatus
from orchestrator.models import RunRecord
from orchestrator.redis_client import get_redis
from orchestrator.storage import get_store
from sandbox import tasks
from sandbox.containers import SandboxConfig
from sandbox.docker_backend import DockerBackend
from workers.celery_app import app


def sandbox_config(s: Settings) -> SandboxConfig:
    """The sandbox's host settings, taken from the orchestrator's Settings."""
    return SandboxConfig(
        image=s.sandbox_image, state_dir=s.sandbox_state_dir, memory_mb=s.sandbox_memory_mb,
        cpus=s.sandbox_cpus, pids=s.sandbox_pids, data_mb=s.sandbox_data_mb,
        timeout=s.sandbox_timeout, max_output=s.sandbox_max_output,
        pool_size=s.sandbox_pool_size, max_sessions=s.sandbox_max_sessions,
        idle_ttl=s.sandbox_idle_ttl,
        max_lifetime=s.sandbox_max_lifetime)


def run_cancelled(job: dict[str, Any]) -> bool:
    """Whether the job's run no longer wants its code run (cancelled, or over otherwise)."""
    with unit_of_work() as session:
        status = session.exec(select(RunRecord.status).where(
            RunRecord.id == job["run_id"])).first()
    return status is None or status != RunStatus.IN_PROGRESS.value


def job_started(job: dict[str, Any]) -> None:
    """Renew the run's lease for the job's execution (it may have waited in the queue)."""
    with unit_of_work() as session:
        renew_job_lease(session, job["run_id"], job["key"], len(job["calls"]))


def heartbeat(queue: str, stop: threading.Event, every: float = 5.0) -> None:
    """Keep this worker's queue marked alive, so threads' jobs are routed to it."""
    key = alive_key(queue)
    while True:
        with contextlib.suppress(RedisError):
            get_redis().set(key, "1", ex=int(every * 3))
        if stop.wait(every):
            with contextlib.suppress(RedisError):
                get_redis().delete(key)
            return


def main(concurrency: int, log_level: str, name: str) -> None:
    """Start the backend (reap, warm pool) and a Celery worker on the sandbox queues only:
    the shared `sandbox` and its own, to which the threads whose sessions it holds return."""
    # Input files are read from the blob store, which this host may share with the API only.
    backend = DockerBackend(sandbox_config(get_settings()),
                            blobs=lambda key: get_store().reader(key))
    backend.start()
    own = f"sandbox.{socket.gethostname()}.{backend.instance}"
    stop = threading.Event()
    beat = threading.Thread(target=heartbeat, args=(own, stop), daemon=True)
    beat.start()

    def shutdown() -> None:
        stop.set()
        beat.join(timeout=5)
        backend.close()

    atexit.register(shutdown)
    tasks.configure(backend, run_cancelled, own, job_started)
    app.worker_main(["worker", "-Q", f"sandbox,{own}", "--pool", "threads", "--concurrency",
                     str(concurrency), "--loglevel", log_level, "-n", f"{name}@%h"])
