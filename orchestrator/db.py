"""Engine, sessions and unit_of_work(): commit at the boundary, then run after-commit actions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from orchestrator.config import get_settings
from orchestrator.shared import process_wide

AFTER_COMMIT = "after_commit"


def make_engine(url: str, *, pool_size: int = 10, max_overflow: int = 20) -> Engine:
    """An engine tuned for the backend: WAL + busy timeout on SQLite, a sized pool elsewhere."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(
        url, pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True
    )


@process_wide
def get_engine() -> Engine:
    """The process-wide engine for the configured database."""
    s = get_settings()
    return make_engine(
        s.effective_database_url, pool_size=s.db_pool_size, max_overflow=s.db_max_overflow
    )


def after_commit(session: Session, action: Callable[[], None]) -> None:
    """Run `action` once the session's transaction has committed; dropped on rollback."""
    session.info.setdefault(AFTER_COMMIT, []).append(action)


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """A session committed on success, rolled back on error; after-commit actions run last."""
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            session.info.pop(AFTER_COMMIT, None)
            raise
        for action in session.info.pop(AFTER_COMMIT, []):
            action()
