"""`orchestrator dev`: api + worker + beat in one process group; Ctrl-C stops them all."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import openai
import pytest

from tests.support.servers import BIN, free_port
from tests.support.stack import model_server
from tests.workers.conftest import wait_for


def test_dev_runs_a_quickstart_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    with model_server(tmp_path) as model:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ORCH_")}
        env.update(ORCH_MODEL_BASE_URL=model.base_url, ORCH_REDIS_URL="redis://127.0.0.1:6379/11",
                   PYTHONUNBUFFERED="1")
        log = tmp_path / "dev.log"
        with log.open("wb") as out:
            proc = subprocess.Popen([str(BIN / "orchestrator"), "dev", "--port", str(port)],
                                    cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        try:
            key = wait_for(lambda: re.search(r"use API key (\S+)", log.read_text()), 30)[1]
            client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=key,
                                   max_retries=5)
            asst = wait_for(lambda: _try(lambda: client.beta.assistants.create(model="m")), 30)
            run = client.beta.threads.create_and_run_poll(
                assistant_id=asst.id, poll_interval_ms=200,
                thread={"messages": [{"role": "user", "content": "dev mode works"}]})
            assert run.status == "completed"
            assert (tmp_path / "var" / "orchestrator.db").exists()
        finally:
            os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends
            proc.wait(timeout=30)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and _group_alive(proc.pid):
            time.sleep(0.2)
        assert not _group_alive(proc.pid), "a child of `orchestrator dev` outlived Ctrl-C"


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
