"""More clients at once than the API has threads and database connections: none is stalled."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.support.servers import ApiServer, api_server, postgres_available, postgres_database

CLIENTS = 120  # three times FastAPI's 40 threads, sixty times the two connections below


@pytest.fixture(scope="module")
def small_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """The API on PostgreSQL with a pool of two connections (SQLite has no sized pool)."""
    if not postgres_available():
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432 (external resource missing)")
    workdir = tmp_path_factory.mktemp("small-pool")
    with postgres_database() as url, api_server(url, workdir, ORCH_DB_POOL_SIZE="2",
                                                ORCH_DB_MAX_OVERFLOW="0") as srv:
        yield srv


def _all_at_once(srv: ApiServer, paths: list[str]) -> list[tuple[int, float]]:
    """GET every path at the same time, one connection each (threads, not an event loop: an
    earlier Playwright test may leave one running on this thread)."""
    headers = {"Authorization": f"Bearer {srv.keys[0]}", "OpenAI-Beta": "assistants=v2"}
    limits = httpx.Limits(max_connections=len(paths))
    with httpx.Client(base_url=srv.base_url, headers=headers, limits=limits,
                      timeout=60) as client, ThreadPoolExecutor(len(paths)) as pool:
        start = threading.Barrier(len(paths))

        def one(path: str) -> tuple[int, float]:
            start.wait()
            began = time.monotonic()
            resp = client.get(path)
            return resp.status_code, time.monotonic() - began
        return list(pool.map(one, paths))


def test_requests_beyond_threads_and_connections_all_answer(small_pool: ApiServer) -> None:
    with httpx.Client(base_url=small_pool.base_url, timeout=30, headers={
            "Authorization": f"Bearer {small_pool.keys[0]}"}) as c:
        asst = c.post("/assistants", json={"model": "m"}).raise_for_status().json()["id"]
        thread = c.post("/threads", json={}).raise_for_status().json()["id"]
    # Routes with a database session of each kind: listing assistants and vector stores
    # (sync endpoints with the session as a parameter), a thread and its messages.
    kinds = ["/assistants", f"/assistants/{asst}", "/vector_stores", f"/threads/{thread}",
             f"/threads/{thread}/messages"]
    answers = _all_at_once(small_pool, [kinds[i % len(kinds)] for i in range(CLIENTS)])
    assert [status for status, _ in answers] == [200] * CLIENTS
    # A session that held its connection while it waited for a thread to commit left every
    # thread waiting for a connection until the pool's 30 s timeout; nothing waits that long.
    assert max(took for _, took in answers) < 20, sorted(took for _, took in answers)[-5:]
