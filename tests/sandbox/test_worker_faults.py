"""Sandbox workers in trouble: no sandbox image on the engine, killed with SIGKILL."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from typing import Any

import openai
import pytest

from tests.sandbox.conftest import (
    SandboxStack,
    containers_under,
    logs_of,
    run_code,
    script_code,
)
from tests.support.servers import BIN

HARMLESS_CODE = "print(6 * 7)"


def _worker(box: SandboxStack, name: str, *prefix: str,
            **env: str) -> tuple[subprocess.Popen[bytes], Any]:
    path = box.st.workdir / f"sandbox-{name}.log"
    proc = subprocess.Popen(
        [*prefix, str(BIN / "orchestrator"), "sandbox-worker", "--concurrency", "1"],
        env={**box.st.env, **env}, cwd=box.st.workdir, stdout=path.open("wb"),
        stderr=subprocess.STDOUT, start_new_session=True)
    return proc, path


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


@pytest.mark.slow
def test_missing_image_is_said_once_and_fails_runs_clearly(
        sdk: openai.OpenAI, sandboxed: SandboxStack, tutor: Any) -> None:
    missing = f"orchestrator-sandbox:missing-{uuid.uuid4().hex[:8]}"
    sandboxed.stop()  # the jobs must reach the worker without the image
    proc, log = _worker(sandboxed, "noimage", ORCH_SANDBOX_IMAGE=missing)
    try:
        deadline = time.monotonic() + 60
        while missing not in log.read_text(errors="replace"):
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        marker = script_code(sandboxed.st, HARMLESS_CODE)
        thread = sdk.beta.threads.create(messages=[{"role": "user", "content": marker}])
        run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=tutor.id,
                                                    poll_interval_ms=200, timeout=90)
        assert run.status == "failed", (run.status, log.read_text()[-3000:])
        assert run.last_error is not None and run.last_error.code == "server_error"
        assert missing in run.last_error.message
        assert "build-offline.sh" in run.last_error.message, run.last_error.message
        time.sleep(3)  # a worker that retried each second would have said more by now
        text = log.read_text(errors="replace")
        assert "Traceback" not in text, text[-3000:]
        said = [line for line in text.splitlines() if missing in line]
        assert len(said) == 2, said  # once at start, once for the one job
        assert "docker build" in said[0] and "build-offline.sh" in said[0]
        assert proc.poll() is None  # it stays up, answering jobs clearly
    finally:
        _kill(proc)
        sandboxed.start_sandbox()


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs util-linux unshare")
def test_containers_of_a_killed_worker_in_another_pid_namespace_are_removed(
        sdk: openai.OpenAI, sandboxed: SandboxStack, tutor: Any) -> None:
    """A worker in its own pid namespace (as in a container: it is pid 1 there, a number that
    means nothing outside) is killed with SIGKILL; the stack's worker, on the same engine,
    removes its sandboxes within a bounded time, and leaves every other sandbox alone."""
    folder = str(sandboxed.st.workdir / f"sbx-ns-{uuid.uuid4().hex[:6]}")
    proc, log = _worker(sandboxed, "pidns", "unshare", "--pid", "--fork", "--mount-proc",
                        ORCH_SANDBOX_STATE_DIR=folder)
    try:
        deadline = time.monotonic() + 60
        while len(containers_under(folder)) < 2:
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        stack_worker = set(sandboxed.containers(sandboxed.proc.pid if sandboxed.proc else 0))
    finally:
        _kill(proc)
    left = containers_under(folder)
    assert left, "the killed worker should have left its sandboxes"
    deadline = time.monotonic() + 90  # heartbeat stale after 30 s, reaper rounds every 10 s
    while containers_under(folder):
        assert time.monotonic() < deadline, ("not reaped", containers_under(folder))
        time.sleep(1)
    assert stack_worker <= set(sandboxed.containers())  # the live worker's own are untouched
    run, step, _ = run_code(sdk, sandboxed.st, tutor.id, HARMLESS_CODE)
    assert run.status == "completed" and "42" in logs_of(step)
