"""Messages via the official SDK (v2) and raw HTTP (v1, v2): content, files, lists, tenancy."""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

import httpx
import openai
import pytest
from sqlalchemy import create_engine, text

from tests.support.servers import ApiServer

V2_FIELDS = {"id", "object", "created_at", "thread_id", "status", "incomplete_details",
             "completed_at", "incomplete_at", "role", "content", "assistant_id", "run_id",
             "attachments", "metadata"}
V1_FIELDS = V2_FIELDS - {"attachments"} | {"file_ids"}
V1 = {"OpenAI-Beta": "assistants=v1"}
QUESTION = "I need to solve the equation `3x + 11 = 14`. Can you help me?"


def upload(http: httpx.Client, name: str = "notes.txt") -> str:
    """A file of the first tenant, uploaded through POST /v1/files."""
    resp = http.post("/files", files={"file": (name, b"x = 1\n", "text/plain")},
                     data={"purpose": "assistants"})
    assert resp.status_code == 200, resp.text
    return str(resp.json()["id"])


def text_of(message: dict[str, Any]) -> list[str]:
    """The text values of a raw message's content parts."""
    return [p["text"]["value"] for p in message["content"] if p["type"] == "text"]


def test_quickstart_matches_reference_shape(client: openai.OpenAI, http: httpx.Client) -> None:
    thread = client.beta.threads.create()
    message = client.beta.threads.messages.create(thread_id=thread.id, role="user",
                                                  content=QUESTION)
    assert message.id.startswith("msg_") and message.thread_id == thread.id
    assert message.role == "user" and message.status == "completed"
    assert message.content[0].type == "text"
    assert message.content[0].text.value == QUESTION  # type: ignore[union-attr]
    listed = client.beta.threads.messages.list(thread_id=thread.id)
    assert [m.id for m in listed.data] == [message.id] and listed.has_more is False
    raw = http.get(f"/threads/{thread.id}/messages").json()
    assert set(raw) == {"object", "data", "first_id", "last_id", "has_more"}
    assert raw["first_id"] == raw["last_id"] == message.id
    item = raw["data"][0]
    assert set(item) == V2_FIELDS
    assert item["object"] == "thread.message" and item["created_at"] >= thread.created_at
    assert item["content"] == [{"type": "text", "text": {"value": QUESTION, "annotations": []}}]
    assert item["attachments"] == [] and item["metadata"] == {}
    for key in ("assistant_id", "run_id", "completed_at", "incomplete_at", "incomplete_details"):
        assert item[key] is None, key
    assert http.get(f"/threads/{thread.id}/messages/{message.id}").json() == item


def test_content_parts_are_stored_wire_shaped(client: openai.OpenAI, http: httpx.Client) -> None:
    thread = client.beta.threads.create()
    msg = http.post(f"/threads/{thread.id}/messages", json={
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Here is a chart"},
            {"type": "image_url", "image_url": {"url": "https://example.com/a.png",
                                                "detail": "low"}},
            {"type": "text", "text": "and a caption"},
        ],
        "metadata": {"source": "import"},
    }).json()
    assert msg["role"] == "assistant" and msg["metadata"] == {"source": "import"}
    assert msg["content"] == [
        {"type": "text", "text": {"value": "Here is a chart", "annotations": []}},
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "low"}},
        {"type": "text", "text": {"value": "and a caption", "annotations": []}},
    ]
    sdk = client.beta.threads.messages.retrieve(msg["id"], thread_id=thread.id)
    assert sdk.content[1].type == "image_url"
    assert sdk.content[1].image_url.url == "https://example.com/a.png"  # type: ignore[union-attr]


def test_image_file_part(client: openai.OpenAI, http: httpx.Client) -> None:
    file_id = upload(http, "chart.png")
    thread = client.beta.threads.create()
    msg = client.beta.threads.messages.create(
        thread.id, role="user",
        content=[{"type": "image_file", "image_file": {"file_id": file_id, "detail": "high"}}])
    assert msg.content[0].type == "image_file"
    assert msg.content[0].image_file.file_id == file_id  # type: ignore[union-attr]
    assert msg.content[0].image_file.detail == "high"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"content": "x"}, "role"),
        ({"role": "system", "content": "x"}, "role"),
        ({"role": "user"}, "content"),
        ({"role": "user", "content": ""}, "content"),
        ({"role": "user", "content": "x" * 256_001}, "content"),
        ({"role": "user", "content": []}, "content"),
        ({"role": "user", "content": 42}, "content"),
        ({"role": "user", "content": [{"type": "video", "video": {}}]}, "content[0]"),
        ({"role": "user", "content": [{"type": "text", "text": ""}]}, "content[0].text"),
        ({"role": "user", "content": [{"type": "text", "text": "a"}, {
            "type": "image_url", "image_url": {"url": "file:///etc/passwd"}}]},
         "content[1].image_url.url"),
        ({"role": "user", "content": [{"type": "image_url", "image_url": {
            "url": "https://example.com/a.png", "detail": "ultra"}}]},
         "content[0].image_url.detail"),
        ({"role": "user", "content": [{"type": "image_file", "image_file": {}}]},
         "content[0].image_file.file_id"),
        ({"role": "user", "content": [{"type": "image_file", "image_file": {
            "file_id": "file-nope"}}]}, "content[0].image_file.file_id"),
        ({"role": "user", "content": "x", "attachments": [{"file_id": "file-nope", "tools": [
            {"type": "code_interpreter"}]}]}, "attachments[0].file_id"),
        ({"role": "user", "content": "x", "attachments": [{"file_id": "file-nope", "tools": [
            {"type": "retrieval"}]}]}, "attachments[0].tools[0]"),
        ({"role": "user", "content": "x", "attachments": [
            {"file_id": f"file-{i}", "tools": []} for i in range(11)]}, "attachments"),
        ({"role": "user", "content": "x", "file_ids": ["file-abc"]}, "file_ids"),
        ({"role": "user", "content": "x", "metadata": {f"k{i}": "v" for i in range(17)}},
         "metadata"),
        ({"role": "user", "content": "x", "surprise": True}, "surprise"),
    ],
)
def test_bad_message_is_400_naming_param(client: openai.OpenAI, http: httpx.Client,
                                         body: dict[str, Any], param: str) -> None:
    thread = client.beta.threads.create()
    client.beta.threads.messages.create(thread.id, role="user", content="keep me")
    before = http.get(f"/threads/{thread.id}/messages").json()
    resp = http.post(f"/threads/{thread.id}/messages", json=body)
    assert resp.status_code == 400, resp.text
    err = resp.json()["error"]
    assert err["type"] == "invalid_request_error" and err["message"]
    assert err["param"] == param, err
    assert http.get(f"/threads/{thread.id}/messages").json() == before


def test_unknown_file_is_named_in_the_error(client: openai.OpenAI) -> None:
    thread = client.beta.threads.create()
    with pytest.raises(openai.BadRequestError) as exc:
        client.beta.threads.messages.create(
            thread.id, role="user", content="see file",
            attachments=[{"file_id": "file-missing1", "tools": [{"type": "file_search"}]}])
    assert "file-missing1" in exc.value.message
    assert client.beta.threads.messages.list(thread.id).data == []


def test_attachments_round_trip_and_v1_view(client: openai.OpenAI, http: httpx.Client) -> None:
    a, b = upload(http, "a.csv"), upload(http, "b.pdf")
    thread = client.beta.threads.create()
    msg = client.beta.threads.messages.create(
        thread.id, role="user", content="analyse these",
        attachments=[{"file_id": a, "tools": [{"type": "code_interpreter"}]},
                     {"file_id": b, "tools": [{"type": "file_search"}]}])
    assert [(x.file_id, [t.type for t in x.tools or []]) for x in msg.attachments or []] == [
        (a, ["code_interpreter"]), (b, ["file_search"])]
    v1 = http.get(f"/threads/{thread.id}/messages/{msg.id}", headers=V1).json()
    assert set(v1) == V1_FIELDS and v1["file_ids"] == [a, b]
    files = http.get(f"/threads/{thread.id}/messages/{msg.id}/files", headers=V1).json()
    assert [f["id"] for f in files["data"]] == [b, a]  # newest first: reverse attachment order
    assert files["data"][0] == {"id": b, "object": "thread.message.file",
                                "created_at": msg.created_at, "message_id": msg.id}
    one = http.get(f"/threads/{thread.id}/messages/{msg.id}/files/{a}", headers=V1)
    assert one.status_code == 200 and one.json()["id"] == a
    missing = http.get(f"/threads/{thread.id}/messages/{msg.id}/files/file-other", headers=V1)
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "No file found with id 'file-other'."


def test_v1_file_ids_round_trip(client: openai.OpenAI, http: httpx.Client) -> None:
    a = upload(http, "data.json")
    thread = client.beta.threads.create()
    resp = http.post(f"/threads/{thread.id}/messages", headers=V1,
                     json={"role": "user", "content": "use it", "file_ids": [a]})
    assert resp.status_code == 200, resp.text
    v1 = resp.json()
    assert set(v1) == V1_FIELDS and v1["file_ids"] == [a]
    v2 = client.beta.threads.messages.retrieve(v1["id"], thread_id=thread.id)
    assert [(x.file_id, sorted(t.type for t in x.tools or [])) for x in v2.attachments or []] == [
        (a, ["code_interpreter", "file_search"])]
    bad = http.post(f"/threads/{thread.id}/messages", headers=V1,
                    json={"role": "user", "content": "x", "file_ids": [a, "file-nope"]})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "file_ids[1]"


def test_v1_raw_shapes(client: openai.OpenAI, http: httpx.Client) -> None:
    thread = http.post("/threads", headers=V1, json={}).json()
    resp = http.post(f"/threads/{thread['id']}/messages", headers=V1,
                     json={"role": "user", "content": "hello v1"})
    assert resp.status_code == 200, resp.text
    msg = resp.json()
    assert set(msg) == V1_FIELDS and msg["file_ids"] == [] and "attachments" not in msg
    assert text_of(msg) == ["hello v1"] and msg["status"] == "completed"
    listed = http.get(f"/threads/{thread['id']}/messages", headers=V1).json()
    assert [set(m) for m in listed["data"]] == [V1_FIELDS]
    files = http.get(f"/threads/{thread['id']}/messages/{msg['id']}/files", headers=V1).json()
    assert files == {"object": "list", "data": [], "first_id": None, "last_id": None,
                     "has_more": False}
    # a v2 message with an image URL: v1 has no such part, so it is left out
    client.beta.threads.messages.create(thread["id"], role="user", content=[
        {"type": "text", "text": "look"},
        {"type": "image_url", "image_url": {"url": "https://example.com/x.png"}}])
    newest = http.get(f"/threads/{thread['id']}/messages", headers=V1).json()["data"][0]
    assert [p["type"] for p in newest["content"]] == ["text"] and newest["file_ids"] == []


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"role": "user", "content": "x", "attachments": [
            {"file_id": "file-a", "tools": [{"type": "code_interpreter"}]}]}, "attachments"),
        ({"role": "user", "content": [{"type": "image_url", "image_url": {
            "url": "https://example.com/a.png"}}]}, "content[0].type"),
        ({"role": "user", "content": "x", "file_ids": [f"file-{i}" for i in range(11)]},
         "file_ids"),
    ],
)
def test_v1_rejects_v2_only_input(http: httpx.Client, client: openai.OpenAI,
                                  body: dict[str, Any], param: str) -> None:
    thread = client.beta.threads.create()
    resp = http.post(f"/threads/{thread.id}/messages", headers=V1, json=body)
    assert resp.status_code == 400 and resp.json()["error"]["param"] == param, resp.text
    assert client.beta.threads.messages.list(thread.id).data == []


def test_retrieve_modify_delete(client: openai.OpenAI) -> None:
    thread = client.beta.threads.create()
    keep = client.beta.threads.messages.create(thread.id, role="user", content="first")
    msg = client.beta.threads.messages.create(thread.id, role="user", content="second",
                                              metadata={"a": "1"})
    mod = client.beta.threads.messages.update(msg.id, thread_id=thread.id,
                                              metadata={"a": "2", "b": "3"})
    assert mod.metadata == {"a": "2", "b": "3"}
    assert mod.content[0].text.value == "second"  # type: ignore[union-attr]
    got = client.beta.threads.messages.retrieve(msg.id, thread_id=thread.id)
    assert got.metadata == {"a": "2", "b": "3"}
    deleted = client.beta.threads.messages.delete(msg.id, thread_id=thread.id)
    assert deleted.deleted and deleted.id == msg.id
    assert deleted.object == "thread.message.deleted"
    with pytest.raises(openai.NotFoundError) as exc:
        client.beta.threads.messages.retrieve(msg.id, thread_id=thread.id)
    assert exc.value.body["message"] == f"No message found with id '{msg.id}'."  # type: ignore[index]
    assert [m.id for m in client.beta.threads.messages.list(thread.id)] == [keep.id]


def test_modify_accepts_metadata_only(client: openai.OpenAI, http: httpx.Client) -> None:
    thread = client.beta.threads.create()
    msg = client.beta.threads.messages.create(thread.id, role="user", content="original")
    resp = http.post(f"/threads/{thread.id}/messages/{msg.id}", json={"content": "changed"})
    assert resp.status_code == 400 and resp.json()["error"]["param"] == "content"
    got = client.beta.threads.messages.retrieve(msg.id, thread_id=thread.id)
    assert got.content[0].text.value == "original"  # type: ignore[union-attr]


def test_message_addressed_through_another_thread_is_404(client: openai.OpenAI,
                                                         http: httpx.Client) -> None:
    a, b = client.beta.threads.create(), client.beta.threads.create()
    msg = client.beta.threads.messages.create(a.id, role="user", content="in a")
    for method, path in (("GET", f"/threads/{b.id}/messages/{msg.id}"),
                         ("POST", f"/threads/{b.id}/messages/{msg.id}"),
                         ("DELETE", f"/threads/{b.id}/messages/{msg.id}"),
                         ("GET", f"/threads/{b.id}/messages/{msg.id}/files")):
        resp = http.request(method, path, json={"metadata": {"x": "y"}} if method == "POST"
                            else None)
        assert resp.status_code == 404, (method, path)
        assert resp.json()["error"]["message"] == f"No message found with id '{msg.id}'."
    assert client.beta.threads.messages.list(b.id).data == []
    after = client.beta.threads.messages.retrieve(msg.id, thread_id=a.id)
    assert after.metadata == {}
    # a cursor from another thread is not a cursor of this list
    resp = http.get(f"/threads/{b.id}/messages", params={"after": msg.id})
    assert resp.status_code == 400 and resp.json()["error"]["param"] == "after"


def test_unknown_thread_is_404(client: openai.OpenAI, http: httpx.Client) -> None:
    for method, path in (("GET", "/threads/thread_nope/messages"),
                         ("POST", "/threads/thread_nope/messages"),
                         ("GET", "/threads/thread_nope/messages/msg_nope")):
        resp = http.request(method, path, json={"role": "user", "content": "x"}
                            if method == "POST" else None)
        assert resp.status_code == 404, (method, path)
        assert resp.json()["error"]["message"] == "No thread found with id 'thread_nope'."



def test_ids_with_nul_bytes_are_unknown_not_errors(client: openai.OpenAI,
                                                   http: httpx.Client) -> None:
    thread = client.beta.threads.create()
    assert http.get("/threads/thread_a%00b/messages").status_code == 404
    resp = http.get(f"/threads/{thread.id}/messages/msg_a%00b")
    assert resp.status_code == 404 and resp.json()["error"]["message"].startswith(
        "No message found")
    none = http.get(f"/threads/{thread.id}/messages", params={"run_id": "run_\x00"})
    assert none.status_code == 200 and none.json()["data"] == []
    bad = http.post(f"/threads/{thread.id}/messages", json={
        "role": "user", "content": "x",
        "attachments": [{"file_id": "file-\x00", "tools": [{"type": "file_search"}]}]})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "attachments[0].file_id"
    assert client.beta.threads.messages.list(thread.id).data == []

def test_other_tenant_sees_nothing(client: openai.OpenAI, other_client: openai.OpenAI) -> None:
    thread = client.beta.threads.create()
    msg = client.beta.threads.messages.create(thread.id, role="user", content="private")
    calls = (
        lambda: other_client.beta.threads.messages.list(thread.id),
        lambda: other_client.beta.threads.messages.create(thread.id, role="user", content="x"),
        lambda: other_client.beta.threads.messages.retrieve(msg.id, thread_id=thread.id),
        lambda: other_client.beta.threads.messages.update(msg.id, thread_id=thread.id,
                                                          metadata={"x": "y"}),
        lambda: other_client.beta.threads.messages.delete(msg.id, thread_id=thread.id),
    )
    for call in calls:
        with pytest.raises(openai.NotFoundError) as exc:
            call()
        assert exc.value.body["message"] == f"No thread found with id '{thread.id}'."  # type: ignore[index]
    mine = client.beta.threads.messages.list(thread.id).data
    assert [(m.id, m.metadata) for m in mine] == [(msg.id, {})]


def test_other_tenants_file_cannot_be_attached(other_client: openai.OpenAI,
                                               http: httpx.Client) -> None:
    mine = upload(http)
    theirs = other_client.beta.threads.create()
    with pytest.raises(openai.BadRequestError) as exc:
        other_client.beta.threads.messages.create(
            theirs.id, role="user", content="x",
            attachments=[{"file_id": mine, "tools": [{"type": "code_interpreter"}]}])
    assert exc.value.param == "attachments[0].file_id"
    assert other_client.beta.threads.messages.list(theirs.id).data == []


@pytest.fixture()
def five(client: openai.OpenAI) -> tuple[str, list[str]]:
    """A thread with five messages, oldest first."""
    thread = client.beta.threads.create()
    return thread.id, [client.beta.threads.messages.create(thread.id, role="user",
                                                           content=f"m{i}").id
                       for i in range(5)]


def test_empty_thread_lists_nothing(client: openai.OpenAI, http: httpx.Client) -> None:
    thread = client.beta.threads.create()
    assert http.get(f"/threads/{thread.id}/messages").json() == {
        "object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}
    assert list(client.beta.threads.messages.list(thread.id)) == []


def test_default_order_newest_first_and_exact_page(client: openai.OpenAI,
                                                   five: tuple[str, list[str]]) -> None:
    thread_id, ids = five
    page = client.beta.threads.messages.list(thread_id, limit=5)
    assert [m.id for m in page.data] == ids[::-1] and page.has_more is False
    short = client.beta.threads.messages.list(thread_id, limit=4)
    assert [m.id for m in short.data] == ids[:0:-1] and short.has_more is True
    texts = [m.content[0].text.value for m in page.data]  # type: ignore[union-attr]
    assert texts == ["m4", "m3", "m2", "m1", "m0"]


def test_after_and_before_cursors(client: openai.OpenAI, five: tuple[str, list[str]]) -> None:
    thread_id, ids = five
    first = client.beta.threads.messages.list(thread_id, limit=2, order="asc")
    assert [m.id for m in first.data] == ids[:2] and first.has_more
    second = client.beta.threads.messages.list(thread_id, limit=2, order="asc", after=ids[1])
    assert [m.id for m in second.data] == ids[2:4] and second.has_more
    last = client.beta.threads.messages.list(thread_id, limit=2, order="asc", after=ids[3])
    assert [m.id for m in last.data] == ids[4:] and not last.has_more
    empty = client.beta.threads.messages.list(thread_id, limit=2, order="asc", after=ids[4])
    assert empty.data == [] and not empty.has_more
    before = client.beta.threads.messages.list(thread_id, limit=2, order="asc", before=ids[4])
    assert [m.id for m in before.data] == ids[2:4] and before.has_more
    newer = client.beta.threads.messages.list(thread_id, order="desc", before=ids[2])
    assert [m.id for m in newer.data] == [ids[4], ids[3]]
    assert [m.id for m in client.beta.threads.messages.list(thread_id, limit=2)] == ids[::-1]


def test_run_id_filter_and_bad_params(client: openai.OpenAI, http: httpx.Client,
                                      five: tuple[str, list[str]]) -> None:
    thread_id, _ids = five
    none = client.beta.threads.messages.list(thread_id, run_id="run_doesnotexist")
    assert none.data == [] and none.has_more is False
    for params, param in (({"limit": 0}, "limit"), ({"limit": 101}, "limit"),
                          ({"order": "sideways"}, "order"), ({"after": "msg_unknown"}, "after"),
                          ({"before": "msg_unknown"}, "before")):
        resp = http.get(f"/threads/{thread_id}/messages", params=params)
        assert resp.status_code == 400 and resp.json()["error"]["param"] == param, params


def _bulk_insert(server: ApiServer, thread_id: str, n: int) -> None:
    """n messages straight into the server's database (half of them tagged with runs)."""
    engine = create_engine(server.env["ORCH_DATABASE_URL"])
    try:
        with engine.begin() as conn:
            tenant = conn.execute(text("SELECT tenant FROM threads WHERE id = :t"),
                                  {"t": thread_id}).scalar_one()
            conn.execute(text(
                "INSERT INTO messages (id, tenant, created_at, thread_id, role, content,"
                " attachments, status, run_id) VALUES (:id, :tenant, :ts, :t, 'user', :c, '[]',"
                " 'completed', :run)"), [
                {"id": f"msg_bulk{thread_id[-8:]}{i:07d}", "tenant": tenant, "ts": int(time.time()),
                 "t": thread_id, "run": f"run_bulk{i % 1000}" if i % 2 else None,
                 "c": json.dumps([{"type": "text", "text": {"value": f"b{i}", "annotations": []}}])}
                for i in range(n)])
        if engine.dialect.name == "postgresql":  # what autovacuum would do after a bulk load
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE messages"))
    finally:
        engine.dispose()


def _median_ms(http: httpx.Client, path: str, params: dict[str, Any]) -> float:
    times = []
    for _ in range(15):
        start = time.perf_counter()
        resp = http.get(path, params=params)
        times.append((time.perf_counter() - start) * 1000)
        assert resp.status_code == 200, resp.text
    return statistics.median(times)


@pytest.mark.slow
def test_page_of_a_100k_thread_costs_as_much_as_of_a_short_one(
        client: openai.OpenAI, http: httpx.Client, server: ApiServer) -> None:
    small = client.beta.threads.create(messages=[{"role": "user", "content": "s"}] * 30)
    path = f"/threads/{small.id}/messages"
    baseline = _median_ms(http, path, {})
    big = client.beta.threads.create()
    _bulk_insert(server, big.id, 100_000)
    newest = http.get(f"/threads/{big.id}/messages", params={"limit": 3}).json()
    assert [m["content"][0]["text"]["value"] for m in newest["data"]] == [
        "b99999", "b99998", "b99997"] and newest["has_more"]
    middle = f"msg_bulk{big.id[-8:]}{50_000:07d}"
    page = http.get(f"/threads/{big.id}/messages", params={"after": middle, "limit": 2}).json()
    assert [m["content"][0]["text"]["value"] for m in page["data"]] == ["b49999", "b49998"]
    run = http.get(f"/threads/{big.id}/messages", params={"run_id": "run_bulk7"}).json()
    assert len(run["data"]) == 20 and {m["run_id"] for m in run["data"]} == {"run_bulk7"}
    timings = {"short": _median_ms(http, path, {})}
    for params in ({}, {"order": "asc"}, {"after": middle}, {"run_id": "run_bulk7"}):
        timings[str(params)] = _median_ms(http, f"/threads/{big.id}/messages", params)
    # A page reads one page of index entries: no slower than before the 100k rows arrived.
    assert all(ms < 2 * baseline + 10 for ms in timings.values()), (baseline, timings)
