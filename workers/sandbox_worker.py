"""The sandbox worker process: a Docker backend from Settings behind `sandbox.execute`."""

from __future__ import annotations

import atexit
import threading
import uuid
from typing import Any

from sqlmodel import select

from orchestrator.config import Settings, get_settings
from orchestrator.db import unit_of_work
from orchestrator.engine import sandbox_hosts
from orchestrator.engine.code_interpreter import renew_job_lease
from orchestrator.engine.status import RunStatus
from orchestrator.models import RunRecord
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


def job_started(job: dict[str, Any], host: str, instance: str) -> bool:
    """Whether the job is still wanted; if so, renew the run's lease for its execution (it
    may have waited in the queue) and note that its session is on this host now."""
    with unit_of_work() as session:
        if not renew_job_lease(session, job["run_id"], job["key"], len(job["calls"])):
            return False
        sandbox_hosts.record(session, job["owner"], job["session"], host, instance)
    return True


def heartbeat(host: str, instance: str, every: float, stop: threading.Event) -> None:
    """Keep this worker's liveness key current, so sessions' jobs are routed to its queue."""
    while not stop.wait(every):
        sandbox_hosts.beat(host, instance, every)
    sandbox_hosts.retire(host, instance)


def main(concurrency: int, log_level: str, name: str) -> None:
    """Start the backend (reap, warm pool) and a Celery worker on the sandbox queues only:
    the shared `sandbox` and this host's own, to which the sessions it holds return."""
    s = get_settings()
    host, every = s.sandbox_host, s.sandbox_heartbeat_seconds
    instance = uuid.uuid4().hex[:16]  # this process: a restarted worker holds no sessions
    if not sandbox_hosts.claim(host, instance, every):
        raise SystemExit(f"another sandbox worker is alive as host '{host}': give each one "
                         "its own ORCH_SANDBOX_HOST")
    stop = threading.Event()
    beat = threading.Thread(target=heartbeat, args=(host, instance, every, stop),
                            daemon=True, name="sandbox-host-beat")
    beat.start()
    # Input files are read from the blob store, which this host may share with the API only.
    backend = DockerBackend(sandbox_config(s), blobs=lambda key: get_store().reader(key))
    backend.start()

    def shutdown() -> None:
        stop.set()
        beat.join(timeout=5)
        backend.close()

    atexit.register(shutdown)
    tasks.configure(backend, run_cancelled,
                    lambda job: job_started(job, host, instance))
    app.worker_main(["worker", "-Q", f"{sandbox_hosts.SHARED},{sandbox_hosts.queue_of(host)}",
                     "--pool", "threads", "--concurrency", str(concurrency),
                     "--loglevel", log_level, "-n", f"{name}@{host}"])
