"""`orchestrator dev`: api + worker + beat in one process group; Ctrl-C stops them all.

The README's quick-start snippet runs against it as a newcomer would run it: taken out of
README.md, with the project's virtualenv python.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai
import pytest

from tests.support.redis_server import redis_server
from tests.support.servers import BIN, ROOT, free_port
from tests.support.stack import model_server
from tests.workers.conftest import wait_for

README_BASE_URL = "http://127.0.0.1:8000/v1"
NO_MODEL = "no model answers at"


@dataclass
class Dev:
    """A running `orchestrator dev`: its port, key, folder and output."""

    port: int
    key: str
    cwd: Path
    log: Path
    pid: int

    def output(self) -> str:
        """Everything it printed so far."""
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def dev(tmp_path: Path, model_base_url: str, **settings: str) -> Iterator[Dev]:
    """`orchestrator dev` in tmp_path on a free port and a Redis of its own; Ctrl-C at the end."""
    port = free_port()
    with redis_server(tmp_path) as redis:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("ORCH_", "OPENAI_"))}
        env.update(ORCH_MODEL_BASE_URL=model_base_url, ORCH_REDIS_URL=redis.url,
                   PYTHONUNBUFFERED="1", **settings)
        log = tmp_path / "dev.log"
        with log.open("wb") as out:
            proc = subprocess.Popen([str(BIN / "orchestrator"), "dev", "--port", str(port)],
                                    cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        try:
            key = wait_for(lambda: re.search(r"use API key (\S+)", log.read_text()), 30)[1]
            yield Dev(port, key, tmp_path, log, proc.pid)
        finally:
            os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends
            proc.wait(timeout=30)


def readme_quickstart(port: int) -> str:
    """The python snippet of README's Quick start, pointed at `port` instead of 8000."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found, "README's Quick start has no python snippet"
    code = found[1]
    assert f'base_url="{README_BASE_URL}"' in code
    return code.replace(README_BASE_URL, f"http://127.0.0.1:{port}/v1")


def run_quickstart(d: Dev) -> subprocess.CompletedProcess[str]:
    """Save the snippet as quickstart.py next to var/ and run it with the venv's python."""
    wait_for(lambda: _ready(d.port), 60)
    script = d.cwd / "quickstart.py"
    script.write_text(readme_quickstart(d.port))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORCH_", "OPENAI_"))}
    return subprocess.run([str(BIN / "python"), str(script)], cwd=d.cwd, env=env,
                          capture_output=True, text=True, timeout=240)


def test_dev_runs_the_readme_quickstart_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    with model_server(tmp_path) as model:
        model.script({"match": "Solve 3x + 11 = 14", "reply": {"content": "x = 1"}})
        with dev(tmp_path, model.base_url) as d:
            client = openai.OpenAI(base_url=f"http://127.0.0.1:{d.port}/v1", api_key=d.key,
                                   max_retries=5)
            asst = wait_for(lambda: _try(lambda: client.beta.assistants.create(model="m")), 30)
            run = client.beta.threads.create_and_run_poll(
                assistant_id=asst.id, poll_interval_ms=200,
                thread={"messages": [{"role": "user", "content": "dev mode works"}]})
            assert run.status == "completed"
            assert (tmp_path / "var" / "orchestrator.db").exists()

            done = run_quickstart(d)
            assert done.returncode == 0, done.stderr
            assert done.stdout.strip() == "x = 1"
            # The scripted model answers GET /models with a 404: an HTTP answer, so no warning.
            assert NO_MODEL not in d.output()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and _group_alive(d.pid):
            time.sleep(0.2)
        assert not _group_alive(d.pid), "a child of `orchestrator dev` outlived Ctrl-C"


def test_with_no_model_dev_says_so_and_the_quickstart_fails_naming_the_url(
        tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    with dev(tmp_path, dead, ORCH_MODEL_RETRY_BASE="0.2", ORCH_MODEL_RETRY_MAX="1") as d:
        line = wait_for(lambda: re.search(f"^{NO_MODEL} .*$", d.output(), re.M), 30)[0]
        assert dead in line and "ORCH_MODEL_BASE_URL" in line
        probes = re.search(r"^liveness: .*$", d.output(), re.M)
        assert probes, d.output()
        assert f"http://127.0.0.1:{d.port}/health" in probes[0]
        assert f"http://127.0.0.1:{d.port}/ready" in probes[0]

        done = run_quickstart(d)
        assert done.returncode == 1, (done.stdout, done.stderr)
        assert "Solve 3x + 11 = 14" not in done.stdout  # the question is not taken for an answer
        error = done.stderr.strip().splitlines()[-1]
        assert "Traceback" not in done.stderr
        assert error.startswith("run failed: ")
        assert dead in error and "ORCH_MODEL_BASE_URL" in error


def _ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _try(call):  # type: ignore[no-untyped-def]
    try:
        return call()
    except openai.APIConnectionError:
        return None


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


pytestmark = pytest.mark.slow
