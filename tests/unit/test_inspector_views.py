"""The inspector's list queries on a migrated SQLite database: tenancy, filters, search, paging."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session

from orchestrator.db import make_engine
from orchestrator.errors import InvalidRequest
from orchestrator.inspector import views
from orchestrator.migrate import upgrade
from orchestrator.models import MessageRecord, RunRecord, RunStepRecord, ThreadRecord


@pytest.fixture()
def db(tmp_path: Path) -> Iterator[Session]:
    """A migrated database with 55 runs of tenant A (every 10th failed) and one of tenant B."""
    url = f"sqlite:///{tmp_path / 'views.db'}"
    upgrade(url)
    with Session(make_engine(url)) as session:
        for n in range(55):
            tenant = "ten_a"
            session.add(ThreadRecord(id=f"thread_{n:02d}", tenant=tenant))
            session.flush()
            session.add(RunRecord(id=f"run_{n:02d}", tenant=tenant, thread_id=f"thread_{n:02d}",
                                  assistant_id="asst_a", model="m",
                                  status="failed" if n % 10 == 0 else "completed"))
        session.add(ThreadRecord(id="thread_b", tenant="ten_b"))
        session.flush()
        session.add(RunRecord(id="run_b", tenant="ten_b", thread_id="thread_b",
                              assistant_id="asst_b", model="m", status="failed"))
        session.add(RunStepRecord(id="step_x", tenant="ten_a", run_id="run_07", ordinal=0,
                                  thread_id="thread_07", assistant_id="asst_a",
                                  type="message_creation"))
        session.add(MessageRecord(id="msg_x", tenant="ten_a", thread_id="thread_03",
                                  role="user"))
        session.commit()
        yield session


def test_newest_first_in_pages_of_fifty(db: Session) -> None:
    first = views.listing(db, "ten_a")
    assert [r.id for r in first.runs][:2] == ["run_54", "run_53"] and len(first.runs) == 50
    assert first.more_runs and len(first.threads) == views.THREAD_LIMIT
    older = views.listing(db, "ten_a", before=first.runs[-1].seq)
    assert [r.id for r in older.runs] == ["run_04", "run_03", "run_02", "run_01", "run_00"]
    assert older.older and not older.more_runs and older.threads == []


def test_status_filters_and_tenancy(db: Session) -> None:
    failed = views.listing(db, "ten_a", status="failed")
    assert [r.id for r in failed.runs] == [f"run_{n:02d}" for n in (50, 40, 30, 20, 10, 0)]
    assert views.listing(db, "ten_a", status="active").runs == []
    assert [r.id for r in views.listing(db, "ten_b", status="failed").runs] == ["run_b"]
    with pytest.raises(InvalidRequest):
        views.listing(db, "ten_a", status="done")


@pytest.mark.parametrize(("q", "runs", "threads"), [
    ("run_1", [f"run_{n}" for n in range(19, 9, -1)], []),
    ("thread_07", ["run_07"], ["thread_07"]),
    ("step_x", ["run_07"], []),
    ("msg_x", [], ["thread_03"]),
    ("run_%", [], []),          # LIKE wildcards are searched for literally
    ("run_b", [], []),          # another tenant's run is not found
    ("asst_a", "all", []),
])
def test_search_by_id(db: Session, q: str, runs: list[str] | str, threads: list[str]) -> None:
    found = views.listing(db, "ten_a", q=q)
    if runs == "all":
        assert len(found.runs) == 50
    else:
        assert [r.id for r in found.runs] == runs
    assert [t.id for t in found.threads] == threads
