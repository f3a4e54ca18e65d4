"""Threads through the official SDK (v2) and raw HTTP (v1 and v2): CRUD, validation, tenancy."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest
from sqlalchemy import create_engine, text

from tests.support.servers import ApiServer

V2_FIELDS = {"id", "object", "created_at", "tool_resources", "metadata"}
V1_FIELDS = {"id", "object", "created_at", "metadata"}
V1 = {"OpenAI-Beta": "assistants=v1"}


def upload(http: httpx.Client, name: str = "data.csv") -> str:
    """A file of the first tenant, uploaded through POST /v1/files."""
    resp = http.post("/files", files={"file": (name, b"a,b\n1,2\n", "text/csv")},
                     data={"purpose": "assistants"})
    assert resp.status_code == 200, resp.text
    return str(resp.json()["id"])


def count(server: ApiServer, sql: str, **params: Any) -> int:
    """One number from the server's own database."""
    engine = create_engine(server.env["ORCH_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql), params).scalar_one())
    finally:
        engine.dispose()


def test_create_empty_thread_matches_reference_shape(client: openai.OpenAI,
                                                     http: httpx.Client) -> None:
    thread = client.beta.threads.create()
    assert thread.id.startswith("thread_") and len(thread.id) > 20
    assert thread.object == "thread" and thread.created_at > 0
    raw = http.get(f"/threads/{thread.id}").json()
    assert set(raw) == V2_FIELDS
    assert raw["tool_resources"] == {} and raw["metadata"] == {}
    no_body = http.post("/threads")
    assert no_body.status_code == 200 and set(no_body.json()) == V2_FIELDS
    assert no_body.json()["id"] != thread.id


def test_create_with_messages_and_metadata(client: openai.OpenAI) -> None:
    thread = client.beta.threads.create(
        messages=[
            {"role": "user", "content": "What is 2 + 2?", "metadata": {"n": "0"}},
            {"role": "assistant", "content": [{"type": "text", "text": "4"}]},
            {"role": "user", "content": [
                {"type": "text", "text": "And this?"},
                {"type": "image_url", "image_url": {"url": "https://example.com/q.png"}}]},
        ],
        metadata={"user": "u-1", "topic": "math"},
    )
    assert thread.metadata == {"user": "u-1", "topic": "math"}
    msgs = client.beta.threads.messages.list(thread.id, order="asc").data
    assert [m.role for m in msgs] == ["user", "assistant", "user"]
    assert [m.content[0].text.value for m in msgs] == [  # type: ignore[union-attr]
        "What is 2 + 2?", "4", "And this?"]
    assert msgs[2].content[1].type == "image_url"
    assert msgs[0].metadata == {"n": "0"} and msgs[1].metadata == {}
    assert all(m.thread_id == thread.id and m.status == "completed" for m in msgs)
    assert client.beta.threads.retrieve(thread.id).metadata == {"user": "u-1", "topic": "math"}


def test_modify_metadata_and_tool_resources(client: openai.OpenAI, http: httpx.Client) -> None:
    thread = client.beta.threads.create(metadata={"a": "1"})
    mod = client.beta.threads.update(thread.id, metadata={"a": "2", "b": "x"})
    assert mod.metadata == {"a": "2", "b": "x"} and mod.created_at == thread.created_at
    res = client.beta.threads.update(thread.id, tool_resources={
        "code_interpreter": {"file_ids": []}})
    assert res.metadata == {"a": "2", "b": "x"}
    raw = http.get(f"/threads/{thread.id}").json()
    assert raw["tool_resources"] == {"code_interpreter": {"file_ids": []}}
    assert raw["metadata"] == {"a": "2", "b": "x"}
    client.beta.threads.update(thread.id, metadata=None)
    after = http.get(f"/threads/{thread.id}").json()
    assert after["metadata"] == {}
    assert after["tool_resources"] == {"code_interpreter": {"file_ids": []}}


def test_thread_tool_resources_with_files(client: openai.OpenAI, http: httpx.Client) -> None:
    file_id = upload(http)
    thread = client.beta.threads.create(tool_resources={"code_interpreter": {
        "file_ids": [file_id]}})
    assert thread.tool_resources.code_interpreter.file_ids == [file_id]  # type: ignore[union-attr]
    got = client.beta.threads.retrieve(thread.id)
    assert got.tool_resources.code_interpreter.file_ids == [file_id]  # type: ignore[union-attr]


def test_delete_removes_thread_and_messages(client: openai.OpenAI, http: httpx.Client,
                                            server: ApiServer) -> None:
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "one"}])
    msg = client.beta.threads.messages.create(thread.id, role="user", content="two")
    rows = "SELECT COUNT(*) FROM messages WHERE thread_id = :t"
    assert count(server, rows, t=thread.id) == 2
    deleted = client.beta.threads.delete(thread.id)
    assert deleted.deleted and deleted.id == thread.id and deleted.object == "thread.deleted"
    assert count(server, rows, t=thread.id) == 0
    with pytest.raises(openai.NotFoundError) as exc:
        client.beta.threads.retrieve(thread.id)
    assert exc.value.body["message"] == f"No thread found with id '{thread.id}'."  # type: ignore[index]
    for path in (f"/threads/{thread.id}/messages", f"/threads/{thread.id}/messages/{msg.id}"):
        assert http.get(path).status_code == 404
    again = http.delete(f"/threads/{thread.id}")
    assert again.status_code == 404


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": [{"role": "user", "content": "x"}] * 33}, "messages"),
        ({"messages": [{"role": "system", "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": "user", "content": "ok"}, {"role": "user", "content": ""}]},
         "messages[1].content"),
        ({"messages": [{"role": "user", "content": [{"type": "text", "text": ""}]}]},
         "messages[0].content[0].text"),
        ({"messages": [{"role": "user", "content": "x", "file_ids": ["file-a"]}]},
         "messages[0].file_ids"),
        ({"messages": [{"role": "user", "content": "ok"}, {
            "role": "user", "content": "x",
            "attachments": [{"file_id": "file-nope", "tools": [{"type": "file_search"}]}]}]},
         "messages[1].attachments[0].file_id"),
        ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
        ({"metadata": {"k": "v" * 513}}, "metadata"),
        ({"tool_resources": {"code_interpreter": {"file_ids": ["file-nope"]}}},
         "tool_resources.code_interpreter.file_ids[0]"),
        ({"tool_resources": {"file_search": {"vector_store_ids": ["vs_nope"]}}},
         "tool_resources.file_search.vector_store_ids[0]"),
        ({"tool_resources": {"browser": {}}}, "tool_resources.browser"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_create_is_400_naming_param(http: httpx.Client, server: ApiServer,
                                        body: dict[str, Any], param: str) -> None:
    threads = count(server, "SELECT COUNT(*) FROM threads")
    messages = count(server, "SELECT COUNT(*) FROM messages")
    resp = http.post("/threads", json=body)
    assert resp.status_code == 400, resp.text
    err = resp.json()["error"]
    assert err["type"] == "invalid_request_error" and err["message"]
    assert err["param"] == param, err
    assert count(server, "SELECT COUNT(*) FROM threads") == threads
    assert count(server, "SELECT COUNT(*) FROM messages") == messages


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"metadata": {"k" * 65: "v"}}, "metadata"),
        ({"tool_resources": {"code_interpreter": {"file_ids": ["file-nope"]}}},
         "tool_resources.code_interpreter.file_ids[0]"),
        ({"messages": []}, "messages"),
    ],
)
def test_bad_modify_changes_nothing(client: openai.OpenAI, http: httpx.Client,
                                    body: dict[str, Any], param: str) -> None:
    thread = client.beta.threads.create(metadata={"keep": "me"})
    before = http.get(f"/threads/{thread.id}").json()
    resp = http.post(f"/threads/{thread.id}", json=body)
    assert resp.status_code == 400 and resp.json()["error"]["param"] == param, resp.text
    assert http.get(f"/threads/{thread.id}").json() == before


def test_other_tenant_gets_404(client: openai.OpenAI, other_client: openai.OpenAI) -> None:
    mine = client.beta.threads.create(metadata={"owner": "me"})
    for call in (lambda: other_client.beta.threads.retrieve(mine.id),
                 lambda: other_client.beta.threads.update(mine.id, metadata={"owner": "them"}),
                 lambda: other_client.beta.threads.delete(mine.id),
                 lambda: client.beta.threads.retrieve("thread_doesnotexist")):
        with pytest.raises(openai.NotFoundError) as exc:
            call()
        assert exc.value.body["message"].startswith("No thread found with id")  # type: ignore[index]
    assert client.beta.threads.retrieve(mine.id).metadata == {"owner": "me"}


def test_v1_shapes_and_v2_only_fields(client: openai.OpenAI, http: httpx.Client) -> None:
    resp = http.post("/threads", headers=V1, json={
        "messages": [{"role": "user", "content": "hi from v1"}], "metadata": {"v": "1"}})
    assert resp.status_code == 200, resp.text
    v1 = resp.json()
    assert set(v1) == V1_FIELDS and v1["metadata"] == {"v": "1"}
    msgs = http.get(f"/threads/{v1['id']}/messages", headers=V1).json()["data"]
    assert len(msgs) == 1 and msgs[0]["file_ids"] == [] and "attachments" not in msgs[0]
    assert set(http.get(f"/threads/{v1['id']}").json()) == V2_FIELDS
    v2 = client.beta.threads.create(tool_resources={"code_interpreter": {"file_ids": []}})
    assert set(http.get(f"/threads/{v2.id}", headers=V1).json()) == V1_FIELDS
    for method, path, body in (
        ("POST", "/threads", {"tool_resources": {"code_interpreter": {"file_ids": []}}}),
        ("POST", f"/threads/{v2.id}", {"tool_resources": {"code_interpreter": {"file_ids": []}}}),
        ("POST", "/threads", {"messages": [{"role": "user", "content": "x", "attachments": [
            {"file_id": "file-a", "tools": [{"type": "file_search"}]}]}]}),
    ):
        bad = http.request(method, path, json=body, headers=V1)
        assert bad.status_code == 400, (path, bad.text)
        assert bad.json()["error"]["param"] in ("tool_resources", "messages[0].attachments")
    mod = http.post(f"/threads/{v2.id}", headers=V1, json={"metadata": {"via": "v1"}}).json()
    assert set(mod) == V1_FIELDS and mod["metadata"] == {"via": "v1"}
    assert client.beta.threads.retrieve(v2.id).tool_resources.code_interpreter.file_ids == []  # type: ignore[union-attr]
