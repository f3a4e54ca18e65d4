"""The sandbox worker process: a Docker backend from Settings behind `sandbox.execute`."""

from __future__ import annotations

import atexit
from typing import Any

from sqlmodel import select

from orchestrator.config import Settings, get_settings
from orchestrator.db import unit_of_work
from orchestrator.models import RunRecord
from orchestrator.runs.status import RunStatus
from sandbox import tasks
from sandbox.containers import SandboxConfig


def sandbox_config(s: Settings) -> SandboxConfig:
    """The sandbox's host settings, taken from the orchestrator's Settings."""
    return SandboxConfig(
        image=s.sandbox_image, state_dir=s.sandbox_state_dir, memory_mb=s.sandbox_memory_mb,
        cpus=s.sandbox_cpus, pids=s.sandbox_pids, data_mb=s.sandbox_data_mb,
        timeout=s.sandbox_timeout, max_output=s.sandbox_max_output,
        pool_size=s.sandbox_pool_size, idle_ttl=s.sandbox_idle_ttl,
        max_lifetime=s.sandbox_max_lifetime)


def run_cancelled(job: dict[str, Any]) -> bool:
    """Whether the job's run no longer wants its code run (cancelled, or over otherwise)."""
    with unit_of_work() as session:
        status = session.exec(select(RunRecord.status).where(
            RunRecord.id == job["run_id"])).first()
    return status is None or status != RunStatus.IN_PROGRESS.value


def main(concurrency: int, log_level: str, name: str) -> None:
    """Start the backend (reap, warm pool) and a Celery worker on queue `sandbox` only."""
    from sandbox.docker_backend import DockerBackend
    from workers.celery_app import app

    backend = DockerBackend(sandbox_config(get_settings()))
    backend.start()
    atexit.register(backend.close)
    tasks.configure(backend, run_cancelled)
    app.worker_main(["worker", "-Q", "sandbox", "--pool", "threads", "--concurrency",
                     str(concurrency), "--loglevel", log_level, "-n", f"{name}@%h"])
