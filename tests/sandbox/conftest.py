"""Fixtures for the code interpreter: the full pipeline plus a sandbox worker on real Docker."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from tests.support.servers import BIN, ROOT, sqlite_database
from tests.support.stack import Stack, stack

IMAGE = "orchestrator-sandbox:0.1"
SANDBOX_SETTINGS = {
    "ORCH_SANDBOX_TIMEOUT": "6",
    "ORCH_SANDBOX_LEASE_MARGIN": "4",
    "ORCH_SANDBOX_MEMORY_MB": "256",
    "ORCH_SANDBOX_PIDS": "64",
    "ORCH_SANDBOX_DATA_MB": "16",
    "ORCH_SANDBOX_MAX_OUTPUT": "20000",
    "ORCH_SANDBOX_POOL_SIZE": "2",
    "ORCH_SANDBOX_MAX_RESENDS": "1",
}


def docker_ready() -> bool:
    """Whether a Docker engine answers on this machine."""
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="session")
def sandbox_image() -> str:
    """The sandbox image, built offline when missing; skips only when no engine is reachable."""
    if not docker_ready():
        if os.environ.get("ORCH_REQUIRE_DOCKER"):
            pytest.fail("ORCH_REQUIRE_DOCKER is set but no Docker engine answers")
        pytest.skip("no Docker engine reachable (external resource missing); .ci/run starts one")
    subprocess.run([str(ROOT / "sandbox/image/build-offline.sh")], check=True,
                   env={**os.environ, "ORCH_SANDBOX_IMAGE": IMAGE})
    return IMAGE


class SandboxStack:
    """The pipeline and a handle on its sandbox worker process."""

    def __init__(self, st: Stack) -> None:
        self.st = st
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start_sandbox(self, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start `orchestrator sandbox-worker` (the stack's settings, `env` over them) and wait
        until its pool is warm (ORCH_SANDBOX_POOL_SIZE containers)."""
        log = (self.st.workdir / f"sandbox-{self.starts}.log").open("wb")
        self.starts += 1
        self.proc = subprocess.Popen(
            [str(BIN / "orchestrator"), "sandbox-worker", "--concurrency", "2"],
            env={**self.st.env, **(env or {})}, cwd=self.st.workdir, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        warm = int({**self.st.env, **(env or {})}.get("ORCH_SANDBOX_POOL_SIZE", "2"))
        while len(self.containers(self.proc.pid)) < warm:
            assert time.monotonic() < deadline, "sandbox pool did not warm up"
            assert self.proc.poll() is None, self.log()
            time.sleep(0.2)
        return self.proc

    def containers(self, pid: int | None = None) -> list[str]:
        """Sandbox containers (optionally only those of one worker pid)."""
        label = "orchestrator.sandbox" + (f".pid={pid}" if pid else "")
        out = subprocess.run(["docker", "ps", "-aq", "--filter", f"label={label}"],
                             capture_output=True, text=True, check=True).stdout
        return out.split()

    def log(self) -> str:
        """The sandbox workers' output (for failure messages)."""
        return "\n".join(p.read_text(errors="replace")[-4000:]
                         for p in sorted(self.st.workdir.glob("sandbox-*.log")))

    def stop(self) -> None:
        """Stop the sandbox worker gracefully (it removes its containers)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="session")
def sandboxed(sandbox_image: str,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxStack]:
    """API, runs worker, beat, scripted model and a sandbox worker; SQLite database."""
    workdir = tmp_path_factory.mktemp("sbx")
    settings = {**SANDBOX_SETTINGS, "ORCH_SANDBOX_IMAGE": sandbox_image,
                "ORCH_SANDBOX_STATE_DIR": str(workdir / "sbx")}
    with sqlite_database(workdir) as url, stack(url, workdir, **settings) as st:
        box = SandboxStack(st)
        box.start_sandbox()
        try:
            yield box
        finally:
            box.stop()


@pytest.fixture()
def sdk(sandboxed: SandboxStack) -> openai.OpenAI:
    """The newest SDK against the pipeline."""
    api = sandboxed.st.api
    return openai.OpenAI(base_url=api.base_url, api_key=api.keys[0], max_retries=0)


@pytest.fixture()
def tutor(sdk: openai.OpenAI) -> Any:
    """The quick-start's Math Tutor with the code interpreter."""
    return sdk.beta.assistants.create(
        name="Math Tutor", model="scripted-model", tools=[{"type": "code_interpreter"}],
        instructions="You are a personal math tutor. Write and run code to answer math "
                     "questions.")


def script_code(st: Stack, code: str, answer: str = "Result: {tool}") -> str:
    """Make the model answer a fresh marker with a code_interpreter call, then `answer`."""
    marker = "job-" + uuid.uuid4().hex[:10]
    st.model.script(
        {"match": marker, "on": "user", "times": 1,
         "reply": {"tool_calls": [{"name": "code_interpreter",
                                   "arguments": json.dumps({"code": code})}]}},
        {"match": marker, "on": "tool", "times": 1, "reply": {"content": answer}})
    return marker


def start_code_run(sdk: openai.OpenAI, st: Stack, assistant_id: str,
                   code: str) -> tuple[Any, Any]:
    """(thread, run) of a run whose code cell is running now (its step exists, plus 0.5 s)."""
    marker = script_code(st, code)
    thread = sdk.beta.threads.create()
    sdk.beta.threads.messages.create(thread_id=thread.id, role="user", content=marker)
    run = sdk.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant_id)
    deadline = time.monotonic() + 30
    while not sdk.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id).data:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.5)
    return thread, run


def run_code(sdk: openai.OpenAI, st: Stack, assistant_id: str, code: str,
             thread_id: str | None = None, answer: str = "Result: {tool}",
             attachments: list[dict[str, Any]] | None = None) -> tuple[Any, Any, Any]:
    """One run whose model runs `code`; the finished run, its code step and the answer."""
    marker = script_code(st, code, answer)
    if thread_id is None:
        thread_id = sdk.beta.threads.create().id
    sdk.beta.threads.messages.create(thread_id=thread_id, role="user", content=marker,
                                     attachments=attachments or [])  # type: ignore[arg-type]
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id,
                                                poll_interval_ms=100, timeout=90)
    steps = sdk.beta.threads.runs.steps.list(thread_id=thread_id, run_id=run.id).data
    tool_steps = [s for s in steps if s.type == "tool_calls"]
    answer_msg = sdk.beta.threads.messages.list(thread_id=thread_id, run_id=run.id).data
    return run, tool_steps[0] if tool_steps else None, answer_msg[0] if answer_msg else None


def logs_of(step: Any) -> str:
    """The logs outputs of a code step, joined."""
    return "\n".join(o.logs for c in step.step_details.tool_calls
                     for o in c.code_interpreter.outputs if o.type == "logs")
