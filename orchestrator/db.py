"""Engine, sessions and unit_of_work(): commit at the boundary, then run after-commit actions."""

from __future__ import annotations

import select
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import event, exc, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapper
from sqlmodel import Session, SQLModel, create_engine

from orchestrator.config import get_settings
from orchestrator.shared import process_wide

T = TypeVar("T")
AFTER_COMMIT = "after_commit"
DEFERRED = "deferred_inserts"  # session.info: table -> rows queued by insert()


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
    psycopg = url.startswith("postgresql+psycopg:")  # the driver we ship; others get SELECT 1
    engine = create_engine(url, pool_size=pool_size, max_overflow=max_overflow,
                           pool_pre_ping=not psycopg)
    if psycopg:
        event.listen(engine, "checkout", _discard_if_closed)
    return engine


def _discard_if_closed(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
    """Pool checkout: drop a psycopg connection the server has closed, without a round trip.

    An idle connection has nothing to read, so a readable socket means the server spoke first:
    its goodbye (restart, failover, pg_terminate_backend) or end of file. The pool then opens a
    fresh connection. This replaces pool_pre_ping's SELECT 1, one round trip per transaction.
    """
    pgconn = dbapi_conn.pgconn
    if dbapi_conn.closed or dbapi_conn.broken or pgconn.status != 0:  # 0: CONNECTION_OK
        raise exc.DisconnectionError("connection closed")
    poller = select.poll()
    poller.register(pgconn.socket, select.POLLIN)
    if poller.poll(0):
        raise exc.DisconnectionError("the server closed the connection")


def again_if_disconnected(write: Callable[[], T]) -> T:
    """Run an idempotent write; once more if its connection died under it.

    The pool's checkout test cannot see a server that is closing the connection at that very
    moment (a restart or `pg_terminate_backend` in progress): the first statement then fails
    and SQLAlchemy invalidates the pool, so the second try gets a fresh connection.
    """
    try:
        return write()
    except exc.DBAPIError as error:
        if not error.connection_invalidated:
            raise
    return write()


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
    Inside deferred_inserts() the rows are queued instead, and written when that block ends.
    """
    queued: dict[Any, list[dict[str, Any]]] | None = session.info.get(DEFERRED)
    by_table: dict[Any, list[dict[str, Any]]] = {} if queued is None else queued
    for record in records:
        table, pairs = _columns(type(record))
        by_table.setdefault(table, []).append(
            {column: getattr(record, attr) for attr, column in pairs})
    if queued is None:
        _write(session, by_table)


def _write(session: Session, by_table: dict[Any, list[dict[str, Any]]]) -> None:
    connection = session.connection()
    for table, rows in by_table.items():
        connection.execute(table.insert(), rows)


def write_deferred(session: Session) -> None:
    """Write the rows insert() queued so far: each table's in one executemany, tables in the
    order they were first used (a thread before its messages and its run)."""
    queued = session.info.get(DEFERRED)
    if queued:
        session.info[DEFERRED] = {}
        _write(session, queued)


@contextmanager
def deferred_inserts(session: Session) -> Iterator[None]:
    """Queue the block's insert() rows and write them together at its end (or before any ORM
    flush): one statement per table for many records, e.g. a batch chunk's threads and runs.

    Code inside must not read back rows it inserted, nor rely on an insert's IntegrityError.
    """
    session.info[DEFERRED] = {}
    try:
        yield
        write_deferred(session)
    finally:
        session.info.pop(DEFERRED, None)


@contextmanager
def inserts_now(session: Session) -> Iterator[None]:
    """Inside deferred_inserts(): write what is queued, then insert at once within the block."""
    queued = session.info.pop(DEFERRED, None)
    if queued:
        _write(session, queued)
    try:
        yield
    finally:
        if queued is not None:
            session.info[DEFERRED] = {}


@event.listens_for(Session, "before_flush")
def _deferred_before_flush(session: Session, *_: Any) -> None:
    """ORM rows may reference queued ones (a run's webhook, a batch line's run): write first."""
    write_deferred(session)


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
