"""Fixtures for webhook tests: the pipeline with short webhook settings, loopback receivers."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.support.receiver import Receiver, receiver
from tests.support.redis_server import redis_server
from tests.support.servers import postgres_database, sqlite_database
from tests.support.stack import Stack, stack

WEBHOOK_SETTINGS = {
    "ORCH_WEBHOOK_ALLOW_PRIVATE": "true",
    "ORCH_WEBHOOK_TIMEOUT": "2",
    "ORCH_WEBHOOK_RETRY_BASE": "0.5",
    "ORCH_WEBHOOK_RETRY_MAX": "2",
    "ORCH_WEBHOOK_RETRY_WINDOW": "15",
    "ORCH_WEBHOOK_LEASE_MARGIN": "1",
    "ORCH_WEBHOOK_REDISPATCH_SECONDS": "2",
    "ORCH_WEBHOOK_SWEEP_INTERVAL": "0.5",
    "ORCH_WEBHOOK_DISABLE_AFTER_FAILURES": "2",
    "ORCH_WEBHOOK_SECRET_GRACE_SECONDS": "30",
    # Short enough for the expiry event, long enough for runs that outlive a worker restart
    # (expires_at holds for queued and in_progress runs too).
    "ORCH_RUN_EXPIRY_SECONDS": "30",
}


@pytest.fixture(scope="session")
def hooks(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """API + worker (queues runs, webhooks, maintenance) + beat + scripted model, private Redis."""
    workdir = tmp_path_factory.mktemp(f"webhooks-{backend}")
    db = postgres_database() if backend == "postgres" else sqlite_database(workdir)
    with redis_server(workdir) as rs, db as url, stack(url, workdir, rs.url,
                                                       **WEBHOOK_SETTINGS) as st:
        yield st


@pytest.fixture()
def live(hooks: Stack) -> Stack:
    """The stack with at least one live worker (a test may have killed one)."""
    hooks.workers = [p for p in hooks.workers if p.poll() is None]
    if not hooks.workers:
        hooks.start_worker()
    return hooks


@pytest.fixture()
def sdk(live: Stack) -> openai.OpenAI:
    """The newest SDK, first tenant."""
    return openai.OpenAI(base_url=live.api.base_url, api_key=live.api.keys[0], max_retries=0)


@pytest.fixture()
def http(live: Stack) -> Iterator[httpx.Client]:
    """Raw HTTP as the first tenant (the SDK has no webhook_endpoints resource)."""
    with httpx.Client(base_url=live.api.base_url, timeout=30, headers={
            "Authorization": f"Bearer {live.api.keys[0]}"}) as c:
        yield c


@pytest.fixture()
def other_http(live: Stack) -> Iterator[httpx.Client]:
    """Raw HTTP as the second tenant."""
    with httpx.Client(base_url=live.api.base_url, timeout=30, headers={
            "Authorization": f"Bearer {live.api.keys[1]}"}) as c:
        yield c


@pytest.fixture()
def rx() -> Iterator[Receiver]:
    """A fresh loopback receiver."""
    with receiver() as r:
        yield r


@pytest.fixture()
def register(http: httpx.Client) -> Iterator[Callable[..., dict[str, Any]]]:
    """Register endpoints; every one is deleted after the test so tests stay independent."""
    made: list[str] = []

    def make(url: str, **body: Any) -> dict[str, Any]:
        r = http.post("/webhook_endpoints", json={"url": url, **body})
        assert r.status_code == 200, r.text
        made.append(r.json()["id"])
        return dict(r.json())

    yield make
    for endpoint_id in made:
        with contextlib.suppress(httpx.HTTPError):
            http.delete(f"/webhook_endpoints/{endpoint_id}")


@pytest.fixture()
def assistant(sdk: openai.OpenAI) -> Any:
    """A plain assistant."""
    return sdk.beta.assistants.create(model="scripted-model", instructions="You are helpful.")
