"""again_if_disconnected: a write whose connection the server closes mid-way runs once more."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import exc, text
from sqlalchemy.engine import Engine

from orchestrator.db import again_if_disconnected, make_engine
from tests.support.servers import PG_ADMIN_URL, postgres_available, postgres_database

pytestmark = pytest.mark.skipif(not postgres_available(),
                                reason="needs the PostgreSQL server at ORCH_TEST_PG_ADMIN")


@pytest.fixture()
def engine() -> Iterator[Engine]:
    with postgres_database() as url:
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE marks (id int PRIMARY KEY, done bool NOT NULL)"))
            conn.execute(text("INSERT INTO marks VALUES (1, false)"))
        yield engine
        engine.dispose()


def _terminate(pid: int) -> None:
    """What a PostgreSQL restart does to one connection, waited out until it is gone."""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        for _ in range(200):
            if not admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s",
                                 (pid,)).fetchone():
                return
            time.sleep(0.05)


def test_a_write_cut_off_by_the_server_runs_again_on_a_fresh_connection(engine: Engine) -> None:
    pids: list[int] = []

    def mark() -> None:
        with engine.begin() as conn:
            pids.append(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
            if len(pids) == 1:  # the server goes away between two statements of the first try
                _terminate(pids[0])
            conn.execute(text("UPDATE marks SET done = true WHERE id = 1"))

    again_if_disconnected(mark)
    assert len(pids) == 2 and pids[0] != pids[1]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT done FROM marks WHERE id = 1")).scalar_one() is True


def test_without_it_the_write_fails(engine: Engine) -> None:
    with pytest.raises(exc.OperationalError), engine.begin() as conn:
        _terminate(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
        conn.execute(text("UPDATE marks SET done = true WHERE id = 1"))


def test_other_errors_are_not_retried(engine: Engine) -> None:
    calls: list[int] = []

    def duplicate() -> None:
        calls.append(1)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO marks VALUES (1, true)"))

    with pytest.raises(exc.IntegrityError):
        again_if_disconnected(duplicate)
    assert calls == [1]
