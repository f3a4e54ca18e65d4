"""Start real server processes for tests and benchmarks: databases, the API under uvicorn."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

from orchestrator.engine import edge_log

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PG_ADMIN_URL = os.environ.get("ORCH_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
# One Redis database per pytest-xdist worker (gw0 → 15, gw1 → 14, …): stacks that share it
# flush it, and two workers' servers must not see each other's queues.
_XDIST = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
REDIS_URL = os.environ.get("ORCH_TEST_REDIS_URL", f"redis://127.0.0.1:6379/{15 - _XDIST % 8}")


def free_port() -> int:
    """An unused TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def postgres_available() -> bool:
    """True when the PostgreSQL server the tests use answers."""
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (SQLAlchemy URL), dropped afterwards."""
    name = "orch_test_" + uuid.uuid4().hex[:12]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"postgresql+psycopg://{base.split('://', 1)[1]}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def sqlite_database(folder: Path) -> Iterator[str]:
    """A SQLite database file in `folder`."""
    yield f"sqlite:///{folder / 'orchestrator.db'}"


@dataclass
class ApiServer:
    """A running `orchestrator api` process."""

    url: str
    keys: list[str]
    env: dict[str, str]
    data_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        """The base URL to give the openai SDK."""
        return self.url + "/v1"

    def log(self) -> str:
        """What the server printed so far."""
        return self.log_path.read_text(errors="replace")


def server_env(database_url: str, data_dir: Path, keys: list[str],
               **extra: str) -> dict[str, str]:
    """The environment a server process of ours runs with."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("ORCH_") or k == edge_log.ENV}  # edges recorded suite-wide
    env.update({
        "ORCH_DATABASE_URL": database_url,
        "ORCH_REDIS_URL": REDIS_URL,
        "ORCH_DATA_DIR": str(data_dir),
        "ORCH_API_KEYS": ",".join(keys),
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra)
    return env


def migrate(env: dict[str, str]) -> None:
    """Run `orchestrator migrate` against the environment's database."""
    subprocess.run([str(BIN / "orchestrator"), "migrate"], env=env, check=True, cwd=ROOT,
                   capture_output=True)


@contextlib.contextmanager
def api_server(database_url: str, workdir: Path, *, keys: list[str] | None = None,
               args: list[str] | None = None, **extra: str) -> Iterator[ApiServer]:
    """Migrate, start `orchestrator api` on a free port, wait until healthy, stop afterwards."""
    keys = keys or ["sk-test-" + secrets.token_hex(8), "sk-test-" + secrets.token_hex(8)]
    data_dir = workdir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    env = server_env(database_url, data_dir, keys, **extra)
    migrate(env)
    port = free_port()
    log_path = workdir / f"api-{port}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(BIN / "orchestrator"), "api", "--host", "127.0.0.1", "--port", str(port),
             "--no-access-log", *(args or [])],
            env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
        )
    server = ApiServer(f"http://127.0.0.1:{port}", keys, env, data_dir, proc, log_path)
    try:
        _wait_healthy(server)
        yield server
    finally:
        stop_process(proc)


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Terminate a process a test started, killing it if it lingers."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _wait_healthy(server: ApiServer, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"api server exited early:\n{server.log()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(server.url + "/health", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"api server did not become healthy:\n{server.log()}")
