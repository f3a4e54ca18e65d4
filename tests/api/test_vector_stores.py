"""Vector stores API on both databases (no workers here: files stay in_progress)."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

from tests.api.test_threads import count
from tests.support.servers import ApiServer


def upload(client: openai.OpenAI, name: str = "a.txt", data: bytes = b"hello world") -> str:
    """An uploaded file's id."""
    return client.files.create(file=(name, data), purpose="assistants").id


def test_crud_and_counts(client: openai.OpenAI, http: httpx.Client) -> None:
    fids = [upload(client), upload(client, "b.md")]
    store = client.vector_stores.create(name="docs", file_ids=fids, metadata={"k": "v"},
                                        expires_after={"anchor": "last_active_at", "days": 2})
    assert store.object == "vector_store" and store.id.startswith("vs_")
    assert store.status == "in_progress" and store.file_counts.in_progress == 2
    assert store.file_counts.total == 2 and store.metadata == {"k": "v"}
    assert store.expires_at == store.last_active_at + 2 * 86_400  # type: ignore[operator]
    assert client.vector_stores.retrieve(store.id).name == "docs"
    assert store.id in [s.id for s in client.vector_stores.list(limit=100).data]
    changed = client.vector_stores.update(store.id, name="renamed", expires_after=None)
    assert changed.name == "renamed" and changed.expires_at is None
    assert changed.metadata == {"k": "v"}
    files = client.vector_stores.files.list(vector_store_id=store.id, order="asc").data
    assert [f.id for f in files] == fids and all(f.status == "in_progress" for f in files)
    strategy = files[0].chunking_strategy
    assert strategy.type == "static"
    assert strategy.static.max_chunk_size_tokens == 800  # type: ignore[union-attr]
    assert strategy.static.chunk_overlap_tokens == 400  # type: ignore[union-attr]
    assert client.vector_stores.files.list(vector_store_id=store.id, filter="failed").data == []
    gone = client.vector_stores.delete(store.id)
    assert gone.deleted and gone.object == "vector_store.deleted"
    resp = http.get(f"/vector_stores/{store.id}")
    assert resp.status_code == 404
    assert resp.json()["error"]["message"] == f"No vector store found with id '{store.id}'."
    assert client.files.retrieve(fids[0]).id == fids[0]  # the files themselves stay


@pytest.mark.parametrize(("body", "param"), [
    ({"chunking_strategy": {"type": "static", "static": {
        "max_chunk_size_tokens": 200, "chunk_overlap_tokens": 150}}}, "chunking_strategy.static"),
    ({"chunking_strategy": {"type": "static", "static": {
        "max_chunk_size_tokens": 50, "chunk_overlap_tokens": 0}}},
     "chunking_strategy.static.max_chunk_size_tokens"),
    ({"chunking_strategy": {"type": "static"}}, "chunking_strategy"),
    ({"chunking_strategy": {"type": "semantic"}}, "chunking_strategy.type"),
    ({"expires_after": {"anchor": "last_active_at", "days": 0}}, "expires_after.days"),
    ({"expires_after": {"anchor": "created_at", "days": 1}}, "expires_after.anchor"),
    ({"file_ids": ["file-nope"]}, "file_ids[0]"),
    ({"surprise": 1}, "surprise"),
])
def test_bad_create_is_400_and_changes_nothing(http: httpx.Client, server: ApiServer,
                                               body: dict[str, Any], param: str) -> None:
    before = count(server, "SELECT COUNT(*) FROM vector_stores")
    resp = http.post("/vector_stores", json=body)
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["param"] == param, resp.json()
    assert count(server, "SELECT COUNT(*) FROM vector_stores") == before


def test_batches_and_cancel(client: openai.OpenAI, server: ApiServer) -> None:
    store = client.vector_stores.create()
    fids = [upload(client, f"f{i}.txt") for i in range(3)]
    batch = client.vector_stores.file_batches.create(store.id, file_ids=fids)
    assert batch.object == "vector_store.files_batch" and batch.status == "in_progress"
    assert batch.file_counts.in_progress == 3
    listed = client.vector_stores.file_batches.list_files(batch.id, vector_store_id=store.id)
    assert sorted(f.id for f in listed.data) == sorted(fids)
    cancelled = client.vector_stores.file_batches.cancel(batch.id, vector_store_id=store.id)
    assert cancelled.status == "cancelled" and cancelled.file_counts.cancelled == 3
    assert client.vector_stores.retrieve(store.id).status == "completed"
    with pytest.raises(openai.BadRequestError):
        client.vector_stores.file_batches.create(store.id, file_ids=["file-nope"])
    assert count(server, "SELECT COUNT(*) FROM vector_store_file_batches WHERE"
                 " vector_store_id = :s", s=store.id) == 1


def test_file_attributes_and_delete(client: openai.OpenAI) -> None:
    store = client.vector_stores.create()
    fid = upload(client)
    vsf = client.vector_stores.files.create(vector_store_id=store.id, file_id=fid,
                                            attributes={"team": "blue", "year": 2024})
    assert vsf.id == fid and vsf.vector_store_id == store.id and vsf.attributes == {
        "team": "blue", "year": 2024}
    updated = client.vector_stores.files.update(file_id=fid, vector_store_id=store.id,
                                                attributes={"team": "red"})
    assert updated.attributes == {"team": "red"}
    deleted = client.vector_stores.files.delete(file_id=fid, vector_store_id=store.id)
    assert deleted.deleted and deleted.object == "vector_store.file.deleted"
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.retrieve(file_id=fid, vector_store_id=store.id)


def test_stores_belong_to_their_tenant(client: openai.OpenAI,
                                       other_client: openai.OpenAI) -> None:
    store = client.vector_stores.create(name="mine")
    with pytest.raises(openai.NotFoundError):
        other_client.vector_stores.retrieve(store.id)
    with pytest.raises(openai.BadRequestError):
        other_client.beta.assistants.create(
            model="m", tool_resources={"file_search": {"vector_store_ids": [store.id]}})
    assert store.id not in [s.id for s in other_client.vector_stores.list(limit=100).data]


def test_tool_resources_link_and_create_stores(client: openai.OpenAI) -> None:
    store = client.vector_stores.create()
    asst = client.beta.assistants.create(
        model="m", tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [store.id]}})
    assert asst.tool_resources.file_search.vector_store_ids == [store.id]  # type: ignore[union-attr]
    fid = upload(client)
    thread = client.beta.threads.create(tool_resources={"file_search": {"vector_stores": [
        {"file_ids": [fid], "metadata": {"made": "by helper"}}]}})
    made = thread.tool_resources.file_search.vector_store_ids  # type: ignore[union-attr]
    assert len(made) == 1 and made[0] != store.id
    helper = client.vector_stores.retrieve(made[0])
    assert helper.metadata == {"made": "by helper"} and helper.file_counts.total == 1


def test_search_validation(client: openai.OpenAI, http: httpx.Client) -> None:
    store = client.vector_stores.create()
    assert client.vector_stores.search(store.id, query="nothing indexed yet").data == []
    for body, param in (({"query": "  "}, "query"), ({"query": "x", "max_num_results": 51},
                                                     "max_num_results"),
                        ({"query": "x", "filters": {"type": "eq"}}, "filters")):
        resp = http.post(f"/vector_stores/{store.id}/search", json=body)
        assert resp.status_code == 400, resp.text
        assert resp.json()["error"]["param"] == param
    assert http.post("/vector_stores/vs_nope/search", json={"query": "x"}).status_code == 404


def test_expired_store(client: openai.OpenAI, http: httpx.Client, server: ApiServer) -> None:
    from sqlalchemy import create_engine, text

    store = client.vector_stores.create(expires_after={"anchor": "last_active_at", "days": 1})
    assert store.status == "completed"
    engine = create_engine(server.env["ORCH_DATABASE_URL"])
    try:
        with engine.begin() as conn:  # a day and a bit later
            conn.execute(text("UPDATE vector_stores SET expires_at = expires_at - 90000"
                              " WHERE id = :s"), {"s": store.id})
    finally:
        engine.dispose()
    assert client.vector_stores.retrieve(store.id).status == "expired"
    resp = http.post(f"/vector_stores/{store.id}/search", json={"query": "anything"})
    assert resp.status_code == 400 and "expired" in resp.json()["error"]["message"]
