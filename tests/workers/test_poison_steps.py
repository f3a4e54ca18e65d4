"""Poison steps: a step whose outcome cannot be committed ends its run instead of looping.

The faults are real: a trigger the test installs in the throwaway database with plain SQL
refuses the worker's writes for one thread or run (the database says no, as it would to a
value it cannot store), or the worker is killed with SIGKILL mid-step. Nothing of ours is
mocked; the budget is ORCH_MODEL_MAX_ATTEMPTS.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from tests.support.db_faults import drop, refuse
from tests.support.servers import postgres_database, sqlite_database
from tests.support.stack import Stack, stack
from tests.workers.conftest import wait_for

pytestmark = pytest.mark.slow
BUDGET = 3
TERMINAL = {"completed", "failed", "cancelled", "expired", "incomplete"}


@pytest.fixture(scope="module")
def poisoned(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A pipeline whose steps get BUDGET attempts."""
    workdir = tmp_path_factory.mktemp(f"poison-{backend}")
    db = postgres_database() if backend == "postgres" else sqlite_database(workdir)
    with db as url, stack(url, workdir, ORCH_MODEL_MAX_ATTEMPTS=str(BUDGET)) as st:
        yield st


@pytest.fixture()
def pst(poisoned: Stack) -> Stack:
    """The stack with one live worker."""
    poisoned.workers = [p for p in poisoned.workers if p.poll() is None]
    if not poisoned.workers:
        poisoned.start_worker()
    return poisoned


@pytest.fixture()
def client(pst: Stack) -> openai.OpenAI:
    """The newest SDK; no retries, so a 500 shows."""
    return openai.OpenAI(base_url=pst.api.base_url, api_key=pst.api.keys[0], max_retries=0)


def calls(st: Stack, tag: str) -> int:
    """Model calls whose prompt holds `tag`."""
    return sum(1 for r in st.model.requests()
               if any(tag in str(m.get("content")) for m in r["messages"]))


def final(client: openai.OpenAI, run: Any, timeout: float = 90) -> Any:
    return wait_for(lambda: (r := client.beta.threads.runs.retrieve(
        run.id, thread_id=run.thread_id)).status in TERMINAL and r, timeout=timeout, every=0.25)


def start(client: openai.OpenAI, tag: str) -> tuple[Any, Any]:
    """An assistant and a thread asking `tag` (no run yet)."""
    asst = client.beta.assistants.create(model="m", instructions="answer")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": tag}])
    return asst, thread


def answers_refused(st: Stack, thread_id: str) -> str:
    """The database refuses every assistant message of that thread: the step cannot commit."""
    return refuse(st.env["ORCH_DATABASE_URL"], "messages",
                  f"NEW.thread_id = '{thread_id}' AND NEW.role = 'assistant'")


def test_a_step_that_cannot_commit_fails_its_run_within_the_budget(
        pst: Stack, client: openai.OpenAI) -> None:
    tag = "poison-commit-" + uuid.uuid4().hex[:6]
    asst, thread = start(client, tag)
    trigger = answers_refused(pst, thread.id)
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=asst.id)
    done = final(client, run)
    assert done.status == "failed", (done.status, pst.worker_log())
    assert done.last_error.code == "server_error"
    assert f"failed {BUDGET} times" in done.last_error.message
    assert calls(pst, tag) == BUDGET
    time.sleep(8)  # two leases and several sweeps: nothing sends the step again
    assert calls(pst, tag) == BUDGET
    assert client.beta.threads.runs.retrieve(run.id, thread_id=thread.id).status == "failed"
    # Nothing half-written; the thread takes a new run once the fault is gone.
    msgs = client.beta.threads.messages.list(thread_id=thread.id).data
    assert [m.role for m in msgs] == ["user"]
    steps = client.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id).data
    assert steps == []
    drop(pst.env["ORCH_DATABASE_URL"], trigger)
    again = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=asst.id,
                                                     poll_interval_ms=200)
    assert again.status == "completed"


def test_cancel_wins_over_a_looping_step_even_if_its_event_cannot_be_written(
        pst: Stack, client: openai.OpenAI) -> None:
    tag = "poison-cancel-" + uuid.uuid4().hex[:6]
    pst.model.script({"match": tag, "reply": {"content": "never stored", "delay_ms": 1500}})
    asst, thread = start(client, tag)
    answers_refused(pst, thread.id)
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=asst.id)
    # The cancel's own bookkeeping is refused too: the run's cancelled event.
    refuse(pst.env["ORCH_DATABASE_URL"], "events",
           f"NEW.run_id = '{run.id}' AND NEW.type = 'thread.run.cancelled'")
    wait_for(lambda: calls(pst, tag) >= 1, timeout=30)
    cancelled = client.beta.threads.runs.cancel(run.id, thread_id=thread.id)  # a 500 raises
    assert cancelled.status in ("cancelling", "cancelled")
    done = final(client, run)
    assert done.status == "cancelled", (done.status, done.last_error, pst.worker_log())
    assert calls(pst, tag) <= BUDGET
    assert [m.role for m in client.beta.threads.messages.list(thread_id=thread.id).data] == [
        "user"]


def test_a_worker_killed_in_every_attempt_fails_the_run_within_the_budget(
        pst: Stack, client: openai.OpenAI) -> None:
    """The attempts nobody could record (the worker died) count too: after BUDGET of them
    the run fails without calling the model again."""
    tag = "poison-kill-" + uuid.uuid4().hex[:6]
    pst.model.script({"match": tag, "reply": {"content": "too late", "delay_ms": 6000}})
    asst, thread = start(client, tag)
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=asst.id)
    for attempt in range(1, BUDGET + 1):
        wait_for(lambda n=attempt: calls(pst, tag) >= n, timeout=60)
        for proc in list(pst.workers):  # SIGKILL mid-call: nothing is recorded
            pst.kill_group(proc)
            pst.workers.remove(proc)
        pst.start_worker()
    done = final(client, run)
    assert done.status == "failed" and done.last_error.code == "server_error", done
    assert calls(pst, tag) == BUDGET
