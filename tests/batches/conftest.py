"""Fixtures for batch tests: the run pipeline as real processes with a small in-flight cap."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from sqlalchemy import create_engine, text

from tests.support.servers import BIN, postgres_database, sqlite_database
from tests.support.stack import Stack, stack

IN_FLIGHT = 40


@pytest.fixture(scope="session")
def pipeline(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Scripted model, API, a threads worker and beat; batches capped at IN_FLIGHT runs."""
    workdir = tmp_path_factory.mktemp(f"batches-{backend}")
    db = postgres_database() if backend == "postgres" else sqlite_database(workdir)
    with db as url, stack(url, workdir, workers=0, ORCH_BATCH_MAX_IN_FLIGHT=str(IN_FLIGHT),
                          ORCH_BATCH_FEED_INTERVAL="0.5") as st:
        st.start_worker("--concurrency", "64")
        yield st


@pytest.fixture()
def sdk(pipeline: Stack) -> openai.OpenAI:
    """The newest SDK against the pipeline's API."""
    return openai.OpenAI(base_url=pipeline.api.base_url, api_key=pipeline.api.keys[0],
                         max_retries=0)


@pytest.fixture()
def assistant(sdk: openai.OpenAI) -> Any:
    """A plain assistant."""
    return sdk.beta.assistants.create(model="scripted-model", instructions="Answer briefly.")


def batch_line(custom_id: str, assistant_id: str, question: str) -> dict[str, Any]:
    """One input line in the OpenAI batch shape for create-thread-and-run."""
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/threads/runs",
            "body": {"assistant_id": assistant_id,
                     "thread": {"messages": [{"role": "user", "content": question}]}}}


def upload(sdk: openai.OpenAI, lines: list[Any]) -> str:
    """Upload JSONL (dicts are dumped, strings kept as they are) with purpose batch."""
    data = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n"
    return sdk.files.create(file=("input.jsonl", io.BytesIO(data.encode())),
                            purpose="batch").id


def db_scalar(pipeline: Stack, sql: str, **params: Any) -> Any:
    """Read one value straight from the pipeline's database (observation only)."""
    engine = create_engine(pipeline.api.env["ORCH_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()
    finally:
        engine.dispose()


def db_execute(pipeline: Stack, sql: str, **params: Any) -> None:
    """Change the pipeline's database directly (only to stand in for the passage of time)."""
    engine = create_engine(pipeline.api.env["ORCH_DATABASE_URL"])
    try:
        with engine.begin() as conn:
            conn.execute(text(sql), params)
    finally:
        engine.dispose()


def read_jsonl(sdk: openai.OpenAI, file_id: str | None) -> list[dict[str, Any]]:
    """A batch output / error file's lines."""
    if file_id is None:
        return []
    return [json.loads(x) for x in sdk.files.content(file_id).text.splitlines() if x.strip()]


def run_cli(pipeline: Stack, *args: str, sigint: Any = None) -> subprocess.Popen[str]:
    """Start `orchestrator batch`; `sigint` (SIG_IGN, SIG_DFL) is the disposition it inherits,
    None the test process's own (SIG_IGN when pytest runs in a backgrounded shell)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORCH_", "OPENAI_"))}
    env.update(ORCH_BASE_URL=pipeline.api.base_url, OPENAI_API_KEY=pipeline.api.keys[0])
    return subprocess.Popen(
        [str(BIN / "orchestrator"), "batch", *args, "--poll", "0.3"], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=pipeline.workdir,
        preexec_fn=None if sigint is None else lambda: signal.signal(signal.SIGINT, sigint))


def read_answers(path: Path) -> list[dict[str, Any]]:
    """The lines of an answers file the CLI wrote."""
    return [json.loads(x) for x in path.read_text().splitlines()]
