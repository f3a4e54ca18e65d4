"""Fixtures for run tests: the full pipeline as real processes, once per database backend."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import openai
import pytest

from tests.support.servers import postgres_database, sqlite_database
from tests.support.stack import Stack, stack


@pytest.fixture(scope="session")
def pipeline(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Scripted model, API, one prefork worker and beat; a private Redis database."""
    workdir = tmp_path_factory.mktemp(f"stack-{backend}")
    db = postgres_database() if backend == "postgres" else sqlite_database(workdir)
    with db as url, stack(url, workdir) as st:
        yield st


@pytest.fixture()
def sdk(pipeline: Stack) -> openai.OpenAI:
    """The newest SDK against the pipeline's API."""
    return openai.OpenAI(base_url=pipeline.api.base_url, api_key=pipeline.api.keys[0],
                         max_retries=0)


@pytest.fixture()
def other(pipeline: Stack) -> openai.OpenAI:
    """The second tenant."""
    return openai.OpenAI(base_url=pipeline.api.base_url, api_key=pipeline.api.keys[1],
                         max_retries=0)


@pytest.fixture()
def assistant(sdk: openai.OpenAI) -> Any:
    """A plain assistant."""
    return sdk.beta.assistants.create(model="scripted-model", name="Helper",
                                      instructions="You are helpful.")


def wait_for(check: Callable[[], Any], timeout: float = 30, every: float = 0.1) -> Any:
    """Poll until `check()` is truthy; return its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"condition not met within {timeout}s")
