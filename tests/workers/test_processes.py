"""`orchestrator worker --processes N`: N Celery nodes under one supervising command."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from celery import Celery

from tests.support.servers import postgres_database, sqlite_database
from tests.support.stack import Stack, stack
from tests.workers.conftest import wait_for

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def st(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A pipeline with no worker yet (each test starts its own)."""
    workdir = tmp_path_factory.mktemp(f"processes-{backend}")
    db = postgres_database() if backend == "postgres" else sqlite_database(workdir)
    with db as url, stack(url, workdir, workers=0) as s:
        yield s


@pytest.fixture()
def client(st: Stack) -> openai.OpenAI:
    """The newest SDK against the stack."""
    return openai.OpenAI(base_url=st.api.base_url, api_key=st.api.keys[0], max_retries=2)


def _nodes(st: Stack) -> dict[str, Any]:
    """Celery nodes answering a ping, with their stats (tasks run by name)."""
    app = Celery(broker=st.env["ORCH_REDIS_URL"])
    try:
        return app.control.inspect(timeout=2).stats() or {}
    finally:
        app.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie is dead too
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


def _completed_runs(client: openai.OpenAI, n: int) -> None:
    asst = client.beta.assistants.create(model="m", instructions="be brief")
    runs = []
    for i in range(n):
        thread = client.beta.threads.create(messages=[{"role": "user", "content": f"q {i}"}])
        runs.append(client.beta.threads.runs.create(thread_id=thread.id, assistant_id=asst.id))
    for run in runs:
        done = wait_for(lambda r=run: (lambda x: x if x.status not in (
            "queued", "in_progress") else None)(client.beta.threads.runs.retrieve(
                r.id, thread_id=r.thread_id)), timeout=60, every=0.2)
        assert done.status == "completed", (done.id, done.status, done.last_error)
        answers = [m for m in client.beta.threads.messages.list(thread_id=run.thread_id).data
                   if m.role == "assistant"]
        assert len(answers) == 1


def test_two_processes_share_the_runs_and_stop_together(st: Stack,
                                                         client: openai.OpenAI) -> None:
    st.model.script(delay_ms=300)
    try:
        parent = st.start_worker("--processes", "2", "--concurrency", "8")
        nodes = wait_for(lambda: (lambda n: n if len(n) == 2 else None)(_nodes(st)),
                         timeout=40, every=0.5)
        name = f"runs{len(st.workers) - 1}"
        assert {n.split("@")[0] for n in nodes} == {name, f"{name}-2"}
        assert all(n["pool"]["max-concurrency"] == 4 for n in nodes.values())
        _completed_runs(client, 16)
        ran = {n: s.get("total", {}).get("runs.advance", 0) for n, s in _nodes(st).items()}
        assert all(ran.values()), f"a process took no run: {ran}"
        children = st.children(parent)
        assert len(children) == 2
        parent.send_signal(signal.SIGTERM)  # warm shutdown of both
        assert parent.wait(timeout=60) == 0
        wait_for(lambda: not any(_alive(pid) for pid in children), timeout=10)
    finally:
        st.model.script(delay_ms=0)
        for proc in st.workers:
            st.kill_group(proc)
        st.workers.clear()


def test_a_dead_process_is_restarted_and_a_killed_parent_leaves_no_orphan(
        st: Stack, client: openai.OpenAI) -> None:
    parent = st.start_worker("--processes", "2", "--concurrency", "4")
    try:
        wait_for(lambda: len(_nodes(st)) == 2, timeout=40, every=0.5)
        first = st.children(parent)
        os.kill(first[0], signal.SIGKILL)
        wait_for(lambda: len(st.children(parent)) == 2 and first[0] not in st.children(parent),
                 timeout=20, every=0.2)
        _completed_runs(client, 4)  # the new process works
        children = st.children(parent)
        parent.send_signal(signal.SIGKILL)  # only the supervisor: its children must follow
        parent.wait(timeout=10)
        wait_for(lambda: not any(_alive(pid) for pid in children), timeout=30, every=0.5)
        time.sleep(1)
        assert not _nodes(st), "a worker process outlived its killed parent"
    finally:
        for proc in st.workers:
            st.kill_group(proc)
        st.workers.clear()


def test_the_model_concurrency_cap_holds_for_the_whole_worker(st: Stack,
                                                              client: openai.OpenAI) -> None:
    """ORCH_MODEL_MAX_CONCURRENCY is a provider's limit: two processes share it, not double it."""
    st.model.script(delay_ms=400)
    st.model.reset()
    try:
        st.start_worker("--processes", "2", "--concurrency", "8",
                        env={"ORCH_MODEL_MAX_CONCURRENCY": "2"})
        wait_for(lambda: len(_nodes(st)) == 2, timeout=40, every=0.5)
        _completed_runs(client, 8)
        assert st.model.stats()["max_in_flight"] <= 2
    finally:
        st.model.script(delay_ms=0)
        for proc in st.workers:
            st.kill_group(proc)
        st.workers.clear()
