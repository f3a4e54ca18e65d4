"""The sandbox_sessions record on both databases: one row per session, naming the host where
its latest job started (what routes the session's next cell)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from orchestrator.db import make_engine
from orchestrator.engine.sandbox_hosts import Holder, holder, record
from orchestrator.models import SandboxSessionRecord
from tests.support.servers import migrate, postgres_database, server_env, sqlite_database


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_session_record_moves_with_its_session(backend: str, tmp_path: Path) -> None:
    db = postgres_database() if backend == "postgres" else sqlite_database(tmp_path)
    with db as url:
        migrate(server_env(url, tmp_path, ["sk-unused"]))
        engine = make_engine(url)
        try:
            for host, instance in (("host-a", "a1"), ("host-a", "a1"), ("host-b", "b1")):
                with Session(engine) as session:
                    record(session, "tenant-1", "thread_x", host, instance)
                    session.commit()
            with Session(engine) as session:
                record(session, "tenant-2", "thread_x", "host-a", "a1")  # another tenant's
                session.commit()
                assert holder(session, "tenant-1", "thread_x") == Holder("host-b", "b1")
                assert holder(session, "tenant-2", "thread_x") == Holder("host-a", "a1")
                assert holder(session, "tenant-1", "thread_never_ran") is None
                rows = session.exec(select(func.count()).select_from(SandboxSessionRecord))
                assert rows.one() == 2
        finally:
            engine.dispose()
