"""Real database faults for tests: a trigger, installed with plain SQL, that refuses writes."""

from __future__ import annotations

import uuid

from sqlalchemy import create_engine, text

MESSAGE = "test fault: refused by a trigger"


def refuse(database_url: str, table: str, when: str, timing: str = "BEFORE INSERT") -> str:
    """Make the database refuse writes to `table` whose NEW row matches `when` (SQL, the same
    on SQLite and PostgreSQL); returns what drop() needs."""
    name = "poison_" + uuid.uuid4().hex[:10]
    postgres = database_url.startswith("postgresql")
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            if postgres:
                conn.execute(text(
                    "CREATE OR REPLACE FUNCTION test_poison() RETURNS trigger LANGUAGE plpgsql"
                    f" AS $$ BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$"))
                conn.execute(text(f"CREATE TRIGGER {name} {timing} ON {table} FOR EACH ROW"
                                  f" WHEN ({when}) EXECUTE FUNCTION test_poison()"))
            else:
                conn.execute(text(f"CREATE TRIGGER {name} {timing} ON {table} WHEN {when}"
                                  f" BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"))
    finally:
        engine.dispose()
    return f"{name} ON {table}" if postgres else name


def drop(database_url: str, trigger: str) -> None:
    """Remove a trigger refuse() installed."""
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"DROP TRIGGER {trigger}"))
    finally:
        engine.dispose()
