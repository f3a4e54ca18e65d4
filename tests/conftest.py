"""Fixtures: a real API server per database backend, driven by the official openai SDK."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from orchestrator.engine import edge_log
from orchestrator.engine.transitions import EDGES
from tests.support.s3_server import S3Server, s3_server
from tests.support.servers import (
    ApiServer,
    api_server,
    postgres_available,
    postgres_database,
    sqlite_database,
)


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    """Each API test runs once per database backend."""
    if request.param == "postgres" and not postgres_available():
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432 (external resource missing)")
    return str(request.param)


@pytest.fixture(scope="session")
def server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """A migrated database and a running `orchestrator api` against it."""
    workdir = tmp_path_factory.mktemp(f"api-{backend}")
    db = postgres_database() if backend == "postgres" else sqlite_database(workdir)
    # No worker answers here: a plain POST /v1/responses gives up waiting after 2 s.
    with db as url, api_server(url, workdir, ORCH_RESPONSE_WAIT_SECONDS="2") as srv:
        yield srv


@pytest.fixture(scope="session")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """One S3-protocol server (moto's) with a bucket, shared by the tests of the S3 store."""
    with s3_server(tmp_path_factory.mktemp("s3")) as srv:
        yield srv


@pytest.fixture()
def client(server: ApiServer) -> openai.OpenAI:
    """The newest openai SDK, first tenant."""
    return openai.OpenAI(base_url=server.base_url, api_key=server.keys[0], max_retries=0)


@pytest.fixture()
def other_client(server: ApiServer) -> openai.OpenAI:
    """The newest openai SDK, second tenant."""
    return openai.OpenAI(base_url=server.base_url, api_key=server.keys[1], max_retries=0)


@pytest.fixture()
def http(server: ApiServer) -> Iterator[httpx.Client]:
    """Raw HTTP with the first tenant's key and the v2 beta header."""
    with httpx.Client(base_url=server.base_url, timeout=30, headers={
        "Authorization": f"Bearer {server.keys[0]}", "OpenAI-Beta": "assistants=v2",
    }) as c:
        yield c


V1 = {"OpenAI-Beta": "assistants=v1"}


@pytest.fixture()
def v1(server: ApiServer) -> Iterator[httpx.Client]:
    """Raw HTTP as an openai 1.1-1.20 client talks: first tenant, `assistants=v1`."""
    with httpx.Client(base_url=server.base_url, timeout=30,
                      headers={"Authorization": f"Bearer {server.keys[0]}", **V1}) as c:
        yield c


def upload(client: openai.OpenAI, name: str = "doc.txt") -> str:
    """A real file of the client's tenant."""
    return client.files.create(file=(name, b"content of " + name.encode()),
                               purpose="assistants").id


# Folders whose tests share one machine-wide resource and so run one at a time, on one
# pytest-xdist worker: the Docker engine (sandbox reapers remove containers they judge
# orphaned) and the multi-host test's private network.
SERIAL_GROUPS = {"sandbox": "docker", "multihost": "docker"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests/api's tests; give each module an xdist group (its module-scoped stacks start
    once), the folders of SERIAL_GROUPS one group each (make test runs --dist loadgroup)."""
    for item in items:
        path = Path(str(item.fspath))
        if path.parts[-2] == "api":
            item.add_marker(pytest.mark.api)
        group = SERIAL_GROUPS.get(path.parts[-2], f"{path.parts[-2]}/{path.stem}")
        item.add_marker(pytest.mark.xdist_group(group))


EDGE_CHECK = "ORCH_EDGE_CHECK"  # =1 (make test): fail a full run that leaves an edge unexercised
MISSING = pytest.StashKey[list[str]]()
OWN_LOG = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    """Record the run edges every process of the session performs (servers and workers
    inherit ORCH_EDGE_LOG through tests/support/servers.server_env)."""
    if not os.environ.get(edge_log.ENV):
        os.environ[edge_log.ENV] = config.stash[OWN_LOG] = tempfile.mkdtemp(prefix="orch-edges-")


def unexercised() -> list[str]:
    """The reachable edges of the table no process of this session performed."""
    seen = {(s, t) for s, t, _ in edge_log.read(Path(os.environ[edge_log.ENV]))}
    return [f"{e.source.value} -> {e.target.value} ({', '.join(e.performers)})"
            for e in EDGES if e.reachable and (e.source.value, e.target.value) not in seen]


def _enforced(config: pytest.Config) -> bool:
    """ORCH_EDGE_CHECK=1 and a whole-suite session: no -k / -m, no paths but the test root."""
    if os.environ.get(EDGE_CHECK) != "1" or config.option.keyword or config.option.markexpr:
        return False
    root = Path(str(config.rootpath)).resolve()
    return all(Path(a).resolve() in (root, root / "tests") for a in config.args)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Note the edges never exercised; on an enforced run they fail the session."""
    if hasattr(session.config, "workerinput"):
        return  # a pytest-xdist worker: the controller judges the whole session's edges
    missing = session.config.stash[MISSING] = unexercised()
    if missing and _enforced(session.config) and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if OWN_LOG in session.config.stash:
        shutil.rmtree(session.config.stash[OWN_LOG], ignore_errors=True)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say which edges this session left unexercised (and whether that failed the run)."""
    missing = terminalreporter.config.stash.get(MISSING, [])
    if missing:
        verdict = ("FAILED: every edge must be exercised by the whole suite"
                   if _enforced(terminalreporter.config) else "not enforced on a partial run")
        terminalreporter.write_line(f"run edges not exercised by this session ({len(missing)},"
                                    f" {verdict}): " + "; ".join(missing))
