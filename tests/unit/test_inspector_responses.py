"""Responses and conversations in the inspector, on a migrated SQLite database.

Input items are written by the Responses face's own `new_messages`; the runs carry what its
`create` records (face, face_data) and the answers what the engine writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from orchestrator.db import make_engine
from orchestrator.errors import NotFound
from orchestrator.faces.responses import services as svc
from orchestrator.inspector import responses, views
from orchestrator.inspector.live import Typing
from orchestrator.inspector.pages import fragment
from orchestrator.migrate import upgrade
from orchestrator.models import EventRecord, MessageRecord, RunRecord, ThreadRecord

T0 = 1_700_000_000


def _answer(mid: str, thread: str, run: str, text: str, tenant: str = "ten_a") -> MessageRecord:
    return MessageRecord(id=mid, tenant=tenant, thread_id=thread, role="assistant", run_id=run,
                         created_at=T0 + 5, content=[{"type": "text", "text": {
                             "value": text, "annotations": []}}])


def _response(rid: str, thread: ThreadRecord, inputs: list[MessageRecord], status: str,
              **extra: Any) -> RunRecord:
    return RunRecord(id=rid, tenant=thread.tenant, thread_id=thread.id, assistant_id="",
                     model="scripted-model", status=status, created_at=T0, started_at=T0 + 1,
                     face=svc.FACE, face_data={
                         "store": True, "background": False, "previous_response_id": None,
                         "conversation": None if thread.private else thread.id,
                         "input": [m.id for m in inputs], "waited": True}, **extra)


def _event(n: int, run_id: str, kind: str, tenant: str = "ten_a") -> EventRecord:
    return EventRecord(id=f"evt_{run_id}_{n}", tenant=tenant, run_id=run_id, type=kind,
                       created_at=T0 + n, data={"type": kind, "n": n})


@pytest.fixture()
def db(tmp_path: Path) -> Iterator[Session]:
    """A conversation with an item, a response and an Assistants run; a failed response on
    its private thread with stored events; another tenant's response."""
    url = f"sqlite:///{tmp_path / 'responses.db'}"
    upgrade(url)
    with Session(make_engine(url)) as session:
        conv = ThreadRecord(id="conv_1", tenant="ten_a", created_at=T0, meta={"topic": "t"})
        private = ThreadRecord(id="thread_p", tenant="ten_a", private=True, created_at=T0)
        other = ThreadRecord(id="thread_o", tenant="ten_b", private=True, created_at=T0)
        session.add_all([conv, private, other])
        session.flush()
        svc.new_messages(session, "ten_a", conv, "added by the client", "items")
        asked = svc.new_messages(session, "ten_a", conv, [
            {"role": "user", "content": [{"type": "input_text", "text": "<b>first</b>"}]}],
            "input")
        session.add(_response("resp_1", conv, asked, "completed", completed_at=T0 + 6,
                              usage={"prompt_tokens": 7, "completion_tokens": 3,
                                     "total_tokens": 10}))
        session.flush()
        session.add(_answer("msg_a1", "conv_1", "resp_1", "Echo: first"))
        session.add(RunRecord(id="run_c", tenant="ten_a", thread_id="conv_1",
                              assistant_id="asst_1", model="m", status="completed"))
        session.flush()
        session.add(_answer("msg_a2", "conv_1", "run_c", "An Assistants answer."))
        failing = svc.new_messages(session, "ten_a", private, "will fail", "input")
        session.add(_response("resp_2", private, failing, "failed", last_error={
            "code": "rate_limit_exceeded", "message": "<i>slow down</i>"}))
        session.add(_response("resp_x", other, [], "expired"))
        session.flush()
        session.add_all([_event(2, "resp_2", "response.in_progress"),
                         _event(1, "resp_2", "response.created"),
                         _event(3, "resp_2", "thread.run.failed"),
                         _event(4, "resp_2", "response.failed"),
                         _event(5, "resp_2", "response.failed", tenant="ten_b")])
        session.commit()
        yield session


def test_listing_shows_responses_beside_runs_and_hides_private_threads(db: Session) -> None:
    found = views.listing(db, "ten_a")
    assert [r.id for r in found.runs] == ["resp_2", "run_c", "resp_1"]
    assert [t.id for t in found.threads] == ["conv_1"]
    html = fragment("index.html", {"listing": found, "filters": views.FILTERS})
    assert '<a href="/inspector/responses/resp_1"><code>resp_1</code></a>' in html
    assert '<a href="/inspector/threads/conv_1/runs/run_c"><code>run_c</code></a>' in html
    assert '<a href="/inspector/conversations/conv_1"><code>conv_1</code></a>' in html
    assert "/inspector/threads/thread_p" not in html and "no conversation" in html
    assert "rate_limit_exceeded" in html
    # Another tenant's expired response shows as a failed Response, to that tenant only.
    theirs = fragment("index.html", {"listing": views.listing(db, "ten_b"),
                                     "filters": views.FILTERS})
    assert "resp_x" in theirs and "status-failed" in theirs and "status-expired" not in theirs


@pytest.mark.parametrize(("q", "runs", "threads"), [
    ("resp_", ["resp_2", "resp_1"], []),
    ("conv_1", ["run_c", "resp_1"], ["conv_1"]),
    ("thread_p", ["resp_2"], []),   # a private thread is found as its response
])
def test_search_finds_responses(db: Session, q: str, runs: list[str],
                                threads: list[str]) -> None:
    found = views.listing(db, "ten_a", q=q)
    assert [r.id for r in found.runs] == runs
    assert [t.id for t in found.threads] == threads


def test_search_by_an_input_item_of_a_response_without_conversation(db: Session) -> None:
    asked = db.exec(select(MessageRecord).where(MessageRecord.thread_id == "thread_p")).one()
    found = views.listing(db, "ten_a", q=asked.id)
    assert [r.id for r in found.runs] == ["resp_2"] and found.threads == []


def test_response_view_shows_items_usage_and_events(db: Session) -> None:
    view = responses.response_view(db, "ten_a", "resp_1")
    assert view.wire["status"] == "completed" and view.conversation == "conv_1"
    assert [i["content"][0]["text"] for i in view.inputs] == ["<b>first</b>"]
    assert [i["id"] for i in view.wire["output"]] == ["msg_a1"]
    html = fragment("_response_live.html", {"view": view})
    assert "Echo: first" in html and "7 + 3 = 10 tokens" in html
    assert "data-events" not in html and 'role="alert"' not in html
    failed = responses.response_view(db, "ten_a", "resp_2")
    # Only this tenant's `response.*` rows, in the order they were written.
    assert [e.type for e in failed.events] == ["response.in_progress", "response.created",
                                               "response.failed"]
    html = fragment("_response_live.html", {"view": failed})
    assert 'role="alert"' in html and "rate_limit_exceeded" in html
    assert "&lt;i&gt;slow down&lt;/i&gt;" in html and "<i>slow" not in html
    assert html.index("response.in_progress") < html.index("response.created")
    assert "thread.run.failed" not in html


def test_response_page_escapes_input_and_links_its_conversation(db: Session) -> None:
    html = fragment("response.html", {"view": responses.response_view(db, "ten_a", "resp_1")})
    assert "&lt;b&gt;first&lt;/b&gt;" in html and "<b>first</b>" not in html
    assert 'href="/inspector/conversations/conv_1"' in html


@pytest.mark.parametrize(("tenant", "rid"), [("ten_b", "resp_1"), ("ten_a", "run_c"),
                                             ("ten_a", "resp_x"), ("ten_a", "resp_nope")])
def test_response_of_another_tenant_or_a_run_is_not_found(db: Session, tenant: str,
                                                          rid: str) -> None:
    with pytest.raises(NotFound, match="No response found"):
        responses.response_view(db, tenant, rid)


def test_conversation_view_lists_items_in_order_with_their_writers(db: Session) -> None:
    view = responses.conversation_view(db, "ten_a", "conv_1")
    got = [(e.item["role"], e.writer.id if e.writer else None, e.as_input)
           for e in view.entries]
    assert got == [("user", None, False), ("user", "resp_1", True),
                   ("assistant", "resp_1", False), ("assistant", "run_c", False)]
    assert [r.id for r in view.runs] == ["run_c", "resp_1"]
    html = fragment("conversation.html", {"view": view})
    assert html.index("added by the client") < html.index("&lt;b&gt;first&lt;/b&gt;") \
        < html.index("Echo: first") < html.index("An Assistants answer.")
    assert 'input to <a href="/inspector/responses/resp_1">response <code>resp_1</code>' in html
    assert 'from <a href="/inspector/threads/conv_1/runs/run_c">run <code>run_c</code>' in html


def test_thread_page_links_a_response_answer_to_the_response(db: Session) -> None:
    thread, msgs, runs = views.conversation(db, "ten_a", "conv_1")
    writers = responses.runs_by_id(db, "ten_a", [m.run_id for m in msgs])
    html = fragment("thread.html", {"thread": thread, "messages": msgs, "runs": runs,
                                    "writers": writers})
    assert '<a href="/inspector/responses/resp_1">from response <code>resp_1</code></a>' in html
    assert ('<a href="/inspector/threads/conv_1/runs/run_c">from run <code>run_c</code></a>'
            in html)
    assert 'href="/inspector/conversations/conv_1">show as a conversation' in html


@pytest.mark.parametrize(("tenant", "cid"), [("ten_a", "thread_p"), ("ten_b", "conv_1")])
def test_private_thread_or_another_tenants_is_no_conversation(db: Session, tenant: str,
                                                              cid: str) -> None:
    with pytest.raises(NotFound, match="No conversation found"):
        responses.conversation_view(db, tenant, cid)


def test_typing_follows_response_text_deltas() -> None:
    typing = Typing()
    assert typing.feed("response.output_text.delta", {"item_id": "msg_1", "delta": "Hel"})
    assert typing.feed("response.output_text.delta", {"item_id": "msg_1", "delta": "lo"})
    assert typing.snapshot() == {"messages": [{"id": "msg_1", "text": "Hello"}]}
    assert typing.feed("response.output_text.done", {"item_id": "msg_1", "text": "Hello"})
    assert not typing.feed("response.output_text.delta", {"item_id": "msg_1", "delta": "!"})
    assert typing.snapshot() == {"messages": []}


def test_tool_items_show_as_what_they_are(db: Session) -> None:
    view = responses.response_view(db, "ten_a", "resp_1")
    view.wire["output"] = [{"type": "function_call", "id": "fc_1_0", "call_id": "call_9",
                            "name": "get_weather", "arguments": '{"city": "<Oslo>"}',
                            "status": "completed"}]
    html = fragment("_response_live.html", {"view": view})
    assert "function call" in html and "get_weather" in html and "call_9" in html
    assert "&lt;Oslo&gt;" in html and "<Oslo>" not in html
