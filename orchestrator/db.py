"""Engine, sessions and unit_of_work(): commit at the boundary, then run after-commit actions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapper
from sqlmodel import Session, SQLModel, create_engine

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


_COLUMNS: dict[type, tuple[Any, list[tuple[str, str]]]] = {}


def _columns(cls: type) -> tuple[Any, list[tuple[str, str]]]:
    """A table model's table and (attribute, column) pairs, less a generated primary key."""
    found = _COLUMNS.get(cls)
    if found is None:
        mapper: Mapper[Any] = inspect(cls)
        table: Any = mapper.local_table
        generated = table.autoincrement_column
        pairs = [(attr.key, attr.columns[0].name) for attr in mapper.column_attrs
                 if attr.columns[0] is not generated]
        found = _COLUMNS[cls] = (table, pairs)
    return found


def insert(session: Session, *records: SQLModel) -> None:
    """INSERT new rows now, through Core: none of the ORM unit of work's per-object cost.

    For the hot paths that only write: the records stay transient (not in the session) and a
    generated primary key (`seq`) is not read back. Rows of one table go in one executemany.
    """
    by_table: dict[Any, list[dict[str, Any]]] = {}
    for record in records:
        table, pairs = _columns(type(record))
        by_table.setdefault(table, []).append(
            {column: getattr(record, attr) for attr, column in pairs})
    connection = session.connection()
    for table, rows in by_table.items():
        connection.execute(table.insert(), rows)


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
