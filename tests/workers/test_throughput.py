"""A threads-pool worker keeps many model calls in flight, backs off on 429s, honours caps."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest

from tests.support.redis_server import redis_server
from tests.support.servers import postgres_database, sqlite_database
from tests.support.stack import Stack, stack
from tests.workers.conftest import wait_for

TERMINAL = {"completed", "failed", "cancelled", "expired", "incomplete"}


@pytest.fixture(scope="module")
def wide(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """API, beat and the scripted model on a private Redis (no other stack's worker takes our
    tasks); each test starts the worker it needs."""
    workdir = tmp_path_factory.mktemp(f"wide-{backend}")
    db = postgres_database() if backend == "postgres" else sqlite_database(workdir)
    with redis_server(workdir) as rs, db as url, stack(url, workdir, rs.url, workers=0) as st:
        yield st


@pytest.fixture()
def sdk(wide: Stack) -> Iterator[openai.OpenAI]:
    """The newest SDK; the test's worker is stopped afterwards."""
    wide.model.reset()
    yield openai.OpenAI(base_url=wide.api.base_url, api_key=wide.api.keys[0], max_retries=2)
    wide.stop_workers()


def _runs(sdk: openai.OpenAI, tag: str, n: int) -> list[Any]:
    asst = sdk.beta.assistants.create(model="m", instructions="be brief")
    return [sdk.beta.threads.create_and_run(assistant_id=asst.id, thread={
        "messages": [{"role": "user", "content": f"{tag} #{i}"}]}) for i in range(n)]


def _final(sdk: openai.OpenAI, runs: list[Any], timeout: float = 120) -> list[Any]:
    def done() -> list[Any] | None:
        now = [sdk.beta.threads.runs.retrieve(r.id, thread_id=r.thread_id) for r in runs]
        return now if all(r.status in TERMINAL for r in now) else None
    return list(wait_for(done, timeout=timeout, every=0.5))


def _start(wide: Stack, sdk: openai.OpenAI, *args: str, **env: str) -> None:
    """Start the worker and see it answer one run (so scripted windows start on time)."""
    wide.start_worker(*args, env=env)
    _answered_once(sdk, _final(sdk, _runs(sdk, "warm-up", 1)))


def _answered_once(sdk: openai.OpenAI, runs: list[Any]) -> None:
    for run in runs:
        assert run.status == "completed", (run.id, run.status, run.last_error)
        msgs = sdk.beta.threads.messages.list(thread_id=run.thread_id, run_id=run.id).data
        assert [m.role for m in msgs] == ["assistant"]


def test_one_worker_keeps_many_model_calls_in_flight(wide: Stack, sdk: openai.OpenAI) -> None:
    wide.model.script({"match": "wide", "reply": {"content": "slow answer", "delay_ms": 1500}})
    # The 48 runs wait in the broker before the worker starts, so what is measured is the
    # worker taking them up, not how fast one client creates them on a loaded machine.
    runs = _runs(sdk, "wide", 48)
    wide.start_worker("--concurrency", "64")
    _answered_once(sdk, _final(sdk, runs))
    # One process, one model call per thread: most of the 48 were waiting on the model together.
    assert wide.model.stats()["max_in_flight"] >= 32


def test_a_429_storm_delays_runs_but_fails_none(wide: Stack, sdk: openai.OpenAI) -> None:
    _start(wide, sdk, "--concurrency", "32")
    wide.model.script({"match": "storm", "for_seconds": 5,
                       "reply": {"status": 429, "retry_after": 1}},
                      {"match": "storm", "reply": {"content": "after the storm"}})
    runs = _runs(sdk, "storm", 24)
    final = _final(sdk, runs)
    _answered_once(sdk, final)
    limited = wide.model.stats()["limited"]
    assert limited >= 1
    # The pause is process-wide with one probe at a time: the storm costs about one rejected
    # call per run at most, not one per run for every retry.
    assert limited <= len(runs) + 8, limited
    assert all(r.last_error is None for r in final)


def test_per_model_concurrency_cap(wide: Stack, sdk: openai.OpenAI) -> None:
    _start(wide, sdk, "--concurrency", "32", ORCH_MODEL_MAX_CONCURRENCY="3")
    wide.model.script({"match": "capped", "reply": {"content": "in turn", "delay_ms": 400}})
    runs = _runs(sdk, "capped", 12)
    _answered_once(sdk, _final(sdk, runs))
    assert wide.model.stats()["max_in_flight"] == 3
