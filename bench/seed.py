"""Setup for the listing benchmark: bulk-insert messages straight into the server's database,
and show the query plans of the page queries (what the server's pagination issues)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, text
from sqlmodel import Session, col, select

from orchestrator.db import make_engine
from orchestrator.ids import new_id
from orchestrator.models import MessageRecord
from orchestrator.models.base import now
from orchestrator.tenancy import tenant_of

BATCH = 5000


def seed_messages(url: str, key: str, thread_id: str, count: int, *, analyze: bool) -> str:
    """Insert `count` messages into `thread_id` of `key`'s tenant; return the middle one's id."""
    tenant, created = tenant_of(key), now()
    engine = make_engine(url)
    middle = ""
    try:
        with Session(engine) as session:
            for start in range(0, count, BATCH):
                rows = [_row(tenant, thread_id, n, created) for n in
                        range(start, min(start + BATCH, count))]
                if start <= count // 2 < start + len(rows):
                    middle = rows[count // 2 - start]["id"]
                session.execute(insert(MessageRecord), rows)
                session.commit()
        if analyze:  # what autovacuum would do shortly after such a load
            with engine.begin() as conn:
                conn.execute(text("ANALYZE messages"))
    finally:
        engine.dispose()
    return middle


def _row(tenant: str, thread_id: str, n: int, created: int) -> dict[str, Any]:
    """One message row, shaped as the API writes them (attribute names of MessageRecord)."""
    return {
        "id": new_id("message"), "tenant": tenant, "thread_id": thread_id,
        "created_at": created, "role": "user" if n % 2 == 0 else "assistant",
        "content": [{"type": "text", "text": {"value": f"message number {n}", "annotations": []}}],
        "attachments": [], "status": "completed", "meta": {},
    }


def explain_pages(url: str, key: str, thread_id: str, mid_id: str) -> dict[str, str]:
    """One-line query plans of the page queries on one thread, as the server issues them."""
    tenant = tenant_of(key)
    seq = col(MessageRecord.seq)
    scope = select(MessageRecord).where(MessageRecord.thread_id == thread_id,
                                        MessageRecord.tenant == tenant)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            pivot = conn.execute(select(MessageRecord.seq).where(MessageRecord.id == mid_id,
                                                                 MessageRecord.thread_id
                                                                 == thread_id)).scalar_one()
            stmts = {"desc": scope.order_by(seq.desc()).limit(21),
                     "asc": scope.order_by(seq.asc()).limit(21),
                     "after (desc)": scope.where(seq < pivot).order_by(seq.desc()).limit(21),
                     "cursor lookup": select(MessageRecord.seq).where(
                         MessageRecord.id == mid_id, MessageRecord.thread_id == thread_id,
                         MessageRecord.tenant == tenant)}
            sqlite = engine.dialect.name == "sqlite"
            prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN (ANALYZE, COSTS OFF) "
            out = {}
            for name, stmt in stmts.items():
                sql = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
                rows = conn.execute(text(prefix + sql)).all()
                lines = [str(r[-1]).strip() for r in rows]
                out[name] = " | ".join(x for x in lines if x)
            return out
    finally:
        engine.dispose()
