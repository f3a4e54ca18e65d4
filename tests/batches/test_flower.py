"""`orchestrator flower`: Flower's HTTP API lists our run tasks by name with their run ids."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.support.servers import BIN, free_port
from tests.support.stack import Stack
from tests.workers.conftest import wait_for

AUTH = ("ops", "flower-test-pw")


@contextlib.contextmanager
def flower(pipeline: Stack) -> Iterator[str]:
    """Flower on the pipeline's broker, behind basic auth."""
    port = free_port()
    log = (pipeline.workdir / "flower.log").open("wb")
    env = {**pipeline.env, "ORCH_FLOWER_BASIC_AUTH": ":".join(AUTH)}
    proc = subprocess.Popen([str(BIN / "orchestrator"), "flower", "--port", str(port)],
                            env=env, cwd=pipeline.workdir, stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        def up() -> bool:
            with contextlib.suppress(httpx.HTTPError):
                return httpx.get(url + "/healthcheck", timeout=2).text == "OK"
            return False
        wait_for(up, timeout=30)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def test_flower_lists_run_tasks_with_their_run_ids(sdk: openai.OpenAI, assistant: Any,
                                                   pipeline: Stack) -> None:
    with flower(pipeline) as url:
        assert httpx.get(url + "/api/tasks", timeout=5).status_code == 401  # auth required
        # Flower learns of workers from their heartbeats and of tasks from events.
        wait_for(lambda: httpx.get(url + "/api/workers", auth=AUTH, params={"refresh": "1"},
                                   timeout=10).json(), timeout=30, every=0.5)

        def listed(runs: list[Any]) -> dict[str, Any] | None:
            tasks = httpx.get(url + "/api/tasks", auth=AUTH, timeout=10,
                              params={"taskname": "runs.advance"}).json()
            found = {t.get("args", ""): t for t in tasks.values()}
            return found if all(any(r.id in a for a in found) for r in runs) else None

        def ask(text: str) -> Any:
            return sdk.beta.threads.create_and_run_poll(
                assistant_id=assistant.id, poll_interval_ms=100,
                thread={"messages": [{"role": "user", "content": text}]})

        # The worker sends task events once it has handled Flower's enable_events broadcast,
        # which takes a moment on a loaded machine: probe runs until one of them is listed.
        deadline = time.monotonic() + 60
        while not wait_for_listed(listed, [ask("probe")], seconds=3):
            assert time.monotonic() < deadline, "Flower never listed a run task"
        runs = [ask(f"flower {i}") for i in range(3)]
        assert all(r.status == "completed" for r in runs)
        found = wait_for(lambda: listed(runs), timeout=30, every=0.5)
        for run in runs:
            task = next(t for a, t in found.items() if run.id in a)
            assert task["name"] == "runs.advance" and task["state"] == "SUCCESS"
            assert task["args"] == f"('{run.id}',)" or run.id in task["args"]
        page = httpx.get(url + "/tasks", auth=AUTH, timeout=10)
        assert page.status_code == 200 and "Flower" in page.text


def wait_for_listed(listed: Any, runs: list[Any], seconds: float) -> bool:
    """True once Flower lists every one of `runs` within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if listed(runs):
            return True
        time.sleep(0.5)
    return False


def test_flower_refuses_other_addresses_without_auth(pipeline: Stack) -> None:
    env = {k: v for k, v in pipeline.env.items() if k != "ORCH_FLOWER_BASIC_AUTH"}
    proc = subprocess.run([str(BIN / "orchestrator"), "flower", "--address", "0.0.0.0"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "ORCH_FLOWER_BASIC_AUTH" in proc.stderr


pytestmark = pytest.mark.timeout(180)
